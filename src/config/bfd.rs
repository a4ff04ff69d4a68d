//! `bfd_instance` blocks, with keepalived 2.2.7's keywords and messages.

use std::net::IpAddr;

use super::diag::Level;
use super::lvs::{parse_ip, Micros};
use super::parser::{block, kw, Ctx, Keyword, Res, Stmt};

/// One `bfd_instance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdInstance {
    /// Instance name.
    pub name: String,
    /// `neighbor_ip` / `neighbour_ip`.
    pub neighbor: Option<IpAddr>,
    /// Which spelling was used (for messages).
    pub neighbor_word: &'static str,
    /// `source_ip`.
    pub source: Option<IpAddr>,
    /// `min_rx` (10 ms).
    pub min_rx: Micros,
    /// `min_tx` (10 ms).
    pub min_tx: Micros,
    /// `idle_tx` (1000 ms).
    pub idle_tx: Micros,
    /// `multiplier` (5).
    pub multiplier: u8,
    /// `passive`.
    pub passive: bool,
    /// `ttl` / `hoplimit` (255 / 64 by default).
    pub ttl: Option<u8>,
    /// `max_hops` (-1 = any).
    pub max_hops: Option<i32>,
    /// `weight` for VRRP tracking, with `reverse`.
    pub weight: i32,
    /// `reverse` given with weight.
    pub reverse: bool,
    /// `vrrp`: only notify VRRP.
    pub vrrp: bool,
    /// `checker`: only notify the checker.
    pub checker: bool,
    /// Whether validation disabled it.
    pub disabled: bool,
}

impl BfdInstance {
    fn new(name: String) -> BfdInstance {
        BfdInstance {
            name,
            neighbor: None,
            neighbor_word: "neighbor",
            source: None,
            min_rx: Micros(10_000),
            min_tx: Micros(10_000),
            idle_tx: Micros(1_000_000),
            multiplier: 5,
            passive: false,
            ttl: None,
            max_hops: None,
            weight: 0,
            reverse: false,
            vrrp: false,
            checker: false,
            disabled: false,
        }
    }
}

fn cur(ctx: &mut Ctx) -> Option<&mut BfdInstance> {
    ctx.cfg.bfd.last_mut()
}

fn name_of(ctx: &Ctx) -> String {
    ctx.cfg
        .bfd
        .last()
        .map(|b| b.name.clone())
        .unwrap_or_default()
}

fn instance(ctx: &mut Ctx, s: &Stmt) -> Res {
    let name = ctx.arg(s, 1)?.to_string();
    if name.len() > 31 {
        ctx.err_at(
            s,
            1,
            format!("BFD name {name} too long"),
            "at most 31 characters",
        );
        ctx.skip_block(true);
        return Ok(());
    }
    if ctx.cfg.bfd.iter().any(|b| b.name == name) {
        ctx.err_at(
            s,
            1,
            format!("BFD {name} already specified"),
            "a unique name",
        );
        ctx.skip_block(true);
        return Ok(());
    }
    ctx.cfg.bfd.push(BfdInstance::new(name));
    Ok(())
}

fn neighbor(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let word = if s.key() == "neighbour_ip" {
        "neighbour"
    } else {
        "neighbor"
    };
    let name = name_of(ctx);
    match parse_ip(&v) {
        Some(ip) => {
            if let Some(b) = cur(ctx) {
                b.neighbor = Some(ip);
                b.neighbor_word = word;
            }
        }
        None => {
            ctx.err_at(
                s,
                1,
                format!("Configuration error: BFD instance {name} has malformed {word} address {v}, ignoring instance"),
                "an IP address",
            );
            if let Some(b) = cur(ctx) {
                b.disabled = true;
            }
        }
    }
    Ok(())
}

fn source(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = name_of(ctx);
    match parse_ip(&v) {
        Some(ip) => {
            if let Some(b) = cur(ctx) {
                b.source = Some(ip);
            }
        }
        None => ctx.err_at(
            s,
            1,
            format!("Configuration error: BFD instance {name} has malformed source address {v}, ignoring"),
            "an IP address",
        ),
    }
    Ok(())
}

/// Why a decimal number of milliseconds was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecimalError {
    /// Not a number at all.
    Invalid,
    /// More than three decimal places (finer than a microsecond).
    TooPrecise,
}

/// keepalived's `read_decimal_unsigned_strvec(…, 3 places)`: milliseconds
/// with up to three decimals (`3.312`), returned in microseconds.
fn parse_ms_decimal(v: &str) -> Result<u64, DecimalError> {
    let t = v.trim();
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(DecimalError::Invalid);
    }
    if frac.len() > 3 {
        return Err(DecimalError::TooPrecise);
    }
    let whole: u64 = if int.is_empty() {
        0
    } else {
        // Longer than any u64: certainly out of range.
        int.parse().unwrap_or(u64::MAX / 1000)
    };
    let mut f = frac.to_string();
    while f.len() < 3 {
        f.push('0');
    }
    let frac_us: u64 = f.parse().unwrap_or(0);
    Ok(whole.saturating_mul(1000).saturating_add(frac_us))
}

/// `min_rx`/`min_tx`/`idle_tx` in ms with microsecond resolution, [1,
/// 4294967] (largest sensible 1000 / 10000).
fn interval(
    ctx: &mut Ctx,
    s: &Stmt,
    what: &str,
    sensible: u64,
    set: fn(&mut BfdInstance, Micros),
) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = name_of(ctx);
    const MAX: u64 = u32::MAX as u64 / 1000;
    let first = match parse_ms_decimal(&v) {
        Ok(us) if (1000..=MAX * 1000).contains(&us) => {
            if us > sensible * 1000 {
                ctx.err_at(
                    s,
                    1,
                    format!("Configuration warning: BFD instance {name} {what} value {v} is larger than max sensible ({sensible})"),
                    "a smaller interval",
                );
            }
            if let Some(b) = cur(ctx) {
                set(b, Micros(us));
            }
            return Ok(());
        }
        Ok(_) => format!("number '{v}' outside range [1.000, {MAX}.000]"),
        Err(DecimalError::Invalid) => format!("invalid number '{v}'"),
        Err(DecimalError::TooPrecise) => {
            // keepalived stops at this message.
            ctx.err_at(
                s,
                1,
                format!("number '{v}' has too many decimal places"),
                "at most three decimals (microseconds)",
            );
            return Ok(());
        }
    };
    ctx.err_at(s, 1, first, "milliseconds, up to three decimals");
    ctx.err_at(
        s,
        1,
        format!("Configuration error: BFD instance {name} {what} value {v} is not valid (must be in range [1-{MAX}]), ignoring"),
        "milliseconds",
    );
    Ok(())
}

fn min_rx(ctx: &mut Ctx, s: &Stmt) -> Res {
    interval(ctx, s, "min_rx", 1000, |b, t| b.min_rx = t)
}

fn min_tx(ctx: &mut Ctx, s: &Stmt) -> Res {
    interval(ctx, s, "min_tx", 1000, |b, t| b.min_tx = t)
}

fn idle_tx(ctx: &mut Ctx, s: &Stmt) -> Res {
    interval(ctx, s, "idle_tx", 10000, |b, t| b.idle_tx = t)
}

fn multiplier(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = name_of(ctx);
    match v.parse::<u8>() {
        Ok(n) if n >= 1 => {
            if let Some(b) = cur(ctx) {
                b.multiplier = n;
            }
        }
        _ => ctx.err_at(
            s,
            1,
            format!("Configuration error: BFD instance {name} multiplier value {v} not valid (must be in range [1-255]), ignoring"),
            "a number in [1, 255]",
        ),
    }
    Ok(())
}

fn passive(ctx: &mut Ctx, _: &Stmt) -> Res {
    if let Some(b) = cur(ctx) {
        b.passive = true;
    }
    Ok(())
}

fn ttl(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = name_of(ctx);
    match v.parse::<u8>() {
        Ok(n) if n >= 1 => {
            if let Some(b) = cur(ctx) {
                b.ttl = Some(n);
            }
        }
        _ => ctx.err_at(
            s,
            1,
            format!("Configuration error: BFD instance {name} ttl/hoplimit value {v} not valid (must be in range [1-255]), ignoring"),
            "a number in [1, 255]",
        ),
    }
    Ok(())
}

fn max_hops(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = name_of(ctx);
    match v.parse::<i32>() {
        Ok(n) if (-1..=255).contains(&n) => {
            if let Some(b) = cur(ctx) {
                b.max_hops = Some(n);
            }
        }
        _ => ctx.err_at(
            s,
            1,
            format!("Configuration error: BFD instance {name} max_hops value {v} not valid (must be in range [-1-255]), ignoring"),
            "a number in [-1, 255]",
        ),
    }
    Ok(())
}

fn weight(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = name_of(ctx);
    let w = match v.parse::<i32>() {
        Ok(n) if (-253..=253).contains(&n) => n,
        _ => {
            ctx.err_at(
                s,
                1,
                format!("Configuration error: BFD instance {name} weight value {v} not valid (must be in range [-253-253]), ignoring"),
                "a number in [-253, 253]",
            );
            return Ok(());
        }
    };
    let mut reverse = false;
    if let Some(o) = s.get(2) {
        if o == "reverse" {
            reverse = true;
        } else {
            ctx.err_at(
                s,
                2,
                format!("Configuration error: BFD instance {name} unknown weight option {o}"),
                "expected 'reverse'",
            );
            return Ok(());
        }
    }
    if let Some(b) = cur(ctx) {
        b.weight = w;
        b.reverse = reverse;
    }
    Ok(())
}

fn vrrp(ctx: &mut Ctx, _: &Stmt) -> Res {
    if let Some(b) = cur(ctx) {
        b.vrrp = true;
    }
    Ok(())
}

fn checker(ctx: &mut Ctx, _: &Stmt) -> Res {
    if let Some(b) = cur(ctx) {
        b.checker = true;
    }
    Ok(())
}

fn instance_end(ctx: &mut Ctx) -> Res {
    let Some(b) = ctx.cfg.bfd.last() else {
        return Ok(());
    };
    if b.disabled {
        ctx.cfg.bfd.pop();
        return Ok(());
    }
    let name = b.name.clone();
    let word = b.neighbor_word;
    let Some(n) = b.neighbor else {
        ctx.err_global(Level::Error, format!("Configuration error: BFD instance {name} has no {word} address set, disabling instance"));
        ctx.cfg.bfd.pop();
        return Ok(());
    };
    if let Some(src) = b.source {
        if src.is_ipv4() != n.is_ipv4() {
            ctx.err_global(
                Level::Error,
                format!(
                    "Configuration error: BFD instance {name} source address {src} and {word} address {n} are not of the same family, disabling instance"
                ),
            );
            ctx.cfg.bfd.pop();
            return Ok(());
        }
    }
    let dup = ctx.cfg.bfd[..ctx.cfg.bfd.len() - 1]
        .iter()
        .any(|o| o.neighbor == Some(n) && o.source == b.source);
    if dup {
        let msg = match b.source {
            Some(src) => format!("Configuration error: BFD instance {name} has duplicate source/{word} address {src}/{n}, ignoring instance"),
            None => format!("Configuration error: BFD instance {name} has duplicate {word} address {n}, ignoring instance"),
        };
        ctx.err_global(Level::Error, msg);
        ctx.cfg.bfd.pop();
        return Ok(());
    }
    let ttl_default = if n.is_ipv4() { 255 } else { 64 };
    let ttl = b.ttl.unwrap_or(ttl_default) as i32;
    if b.max_hops.is_some_and(|h| h > ttl) {
        let _ = ctx.cfg.bfd.last_mut().map(|b| b.max_hops = Some(ttl));
        crate::config::note(&format!(
            "BFD instance {name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"
        ));
    }
    Ok(())
}

static INSTANCE: &[Keyword] = &[
    kw("source_ip", source),
    kw("neighbor_ip", neighbor),
    kw("neighbour_ip", neighbor),
    kw("min_rx", min_rx),
    kw("min_tx", min_tx),
    kw("idle_tx", idle_tx),
    kw("multiplier", multiplier),
    kw("passive", passive),
    kw("ttl", ttl),
    kw("hoplimit", ttl),
    kw("max_hops", max_hops),
    kw("weight", weight),
    kw("vrrp", vrrp),
    kw("checker", checker),
];

/// Root keywords of this module.
pub static ROOT: &[Keyword] = &[block(
    "bfd_instance",
    Some(instance),
    INSTANCE,
    Some(instance_end),
)];

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (crate::config::Config, Vec<String>) {
        let l = crate::config::load_str("t.conf", text, Default::default());
        let msgs = l.report.diags.iter().map(|d| d.headline()).collect();
        (l.config, msgs)
    }

    #[test]
    fn intervals_are_decimal_milliseconds_as_keepalived_reads_them() {
        assert_eq!(parse_ms_decimal("3.312"), Ok(3312));
        assert_eq!(parse_ms_decimal("2."), Ok(2000));
        assert_eq!(parse_ms_decimal("100"), Ok(100_000));
        assert_eq!(parse_ms_decimal("3.3125"), Err(DecimalError::TooPrecise));
        assert_eq!(parse_ms_decimal("1.5e2"), Err(DecimalError::Invalid));
        assert_eq!(parse_ms_decimal("abc"), Err(DecimalError::Invalid));
        assert_eq!(parse_ms_decimal("."), Err(DecimalError::Invalid));
        assert!(parse_ms_decimal("99999999999999999999999").unwrap() > 4_294_967_000);
        let (c, m) = load("bfd_instance b1 {\n neighbor_ip 10.1.1.1\n min_rx 3.312\n min_tx 0.5\n idle_tx 3.3125\n}\n");
        assert_eq!(c.bfd[0].min_rx, Micros(3312));
        assert_eq!(c.bfd[0].min_tx, Micros(10_000));
        assert_eq!(c.bfd[0].idle_tx, Micros(1_000_000));
        // keepalived 2.2.7's `-t` output for the same lines.
        let want = [
            "(t.conf: Line 4) number '0.5' outside range [1.000, 4294967.000]",
            "(t.conf: Line 4) Configuration error: BFD instance b1 min_tx value 0.5 is not valid (must be in range [1-4294967]), ignoring",
            "(t.conf: Line 5) number '3.3125' has too many decimal places",
        ];
        for w in want {
            assert!(m.iter().any(|x| x == w), "{w:?} not in {m:?}");
        }
        assert_eq!(m.len(), 3, "{m:?}");
    }
}
