"""A recording SMTP server for tests/mail.rs (aiosmtpd).

Usage: mail_sink.py ADDR PORT DIR

Listens on ADDR:PORT, prints "ready" once listening, and writes every
message it accepts to DIR/NNN.txt as the client's dialogue rebuilt from
what aiosmtpd saw: the greeting command (HELO or EHLO) and its argument,
MAIL FROM with its parameters (BODY=8BITMIME, SMTPUTF8, upper-cased by
aiosmtpd), one RCPT TO per recipient, DATA, then the message bytes
exactly as received (dot-unstuffed, without the terminating dot line).
It offers 8BITMIME and SMTPUTF8, so that a client that wants to use them
shows it. (RCPT TO parameters would be refused by aiosmtpd.)
"""
import asyncio
import os
import sys

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        session.greeting = "HELO"
        return "250 {}".format(server.hostname)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        session.greeting = "EHLO"
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        head = "{} {}\r\nMAIL FROM:<{}>{}\r\n".format(
            getattr(session, "greeting", "?"), session.host_name, envelope.mail_from,
            "".join(" " + o for o in envelope.mail_options))
        head += "".join("RCPT TO:<{}>\r\n".format(r) for r in envelope.rcpt_tos)
        head += "DATA\r\n"
        tmp = os.path.join(self.out, ".{:03}.tmp".format(self.n))
        with open(tmp, "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(tmp, os.path.join(self.out, "{:03}.txt".format(self.n)))
        return "250 Message accepted for delivery"


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ctl = Controller(Recorder(out), hostname=addr, port=port, server_hostname="sink",
                     enable_SMTPUTF8=True)
    ctl.start()
    print("ready", flush=True)
    try:
        asyncio.new_event_loop().run_until_complete(asyncio.Event().wait())
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
