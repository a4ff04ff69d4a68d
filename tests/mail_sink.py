"""A recording SMTP sink for tests/mail.rs: aiosmtpd on ADDR:PORT, one JSON
line per command and per message appended to OUT (flushed at once)."""
import asyncio
import json
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Recorder:
    def __init__(self, out):
        self.out = out

    def write(self, rec):
        with open(self.out, "a") as f:
            f.write(json.dumps(rec) + "\n")

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        self.write({"cmd": "HELO", "arg": hostname})
        return "250 {}".format(server.hostname)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.write({"cmd": "EHLO", "arg": hostname})
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.write({
            "cmd": "MESSAGE",
            "helo": session.host_name,
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
        })
        return "250 Message accepted for delivery"


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    handler = Recorder(out)
    ctl = Controller(handler, hostname=addr, port=port, server_hostname="sink")
    ctl.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
