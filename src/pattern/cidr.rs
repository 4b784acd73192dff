//! IP addresses and CIDR blocks, by hand over `std::net`: reads `a.b.c.d/n` or `x:y::/n`
//! text and produces an inclusive address range that event strings are tested against.

use std::net::IpAddr;

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpRange {
    v6: bool,
    low: u128,
    high: u128,
}

impl IpRange {
    /// Parses `address/prefix-length`; host bits may be set (they are masked away).
    pub(crate) fn parse_cidr(text: &str) -> Result<IpRange, String> {
        let Some((addr, bits)) = text.split_once('/') else {
            return Err(format!("malformed CIDR {text:?}: one '/' is required"));
        };
        let ip = parse_ip(addr).ok_or_else(|| format!("malformed CIDR {text:?}: bad address"))?;
        let width = if matches!(ip, IpAddr::V6(_)) { 128 } else { 32 };
        let bits: u32 = match bits.parse() {
            Ok(b) if b <= width && !bits.starts_with('+') => b,
            _ => {
                return Err(format!(
                    "malformed CIDR {text:?}: prefix length must be 0..={width}"
                ));
            }
        };
        let (v6, value) = to_bits(ip);
        let host_mask = if bits == width {
            0
        } else {
            (1u128 << (width - bits)) - 1
        };
        Ok(IpRange {
            v6,
            low: value & !host_mask,
            high: value | host_mask,
        })
    }

    /// The range holding exactly one address, if `text` is one.
    pub(crate) fn single(text: &str) -> Option<IpRange> {
        let (v6, value) = to_bits(parse_ip(text)?);
        Some(IpRange {
            v6,
            low: value,
            high: value,
        })
    }

    /// Whether the event string `text` is an address inside this range.
    pub(crate) fn contains_text(&self, text: &str) -> bool {
        parse_ip(text).is_some_and(|ip| {
            let (v6, value) = to_bits(ip);
            v6 == self.v6 && (self.low..=self.high).contains(&value)
        })
    }
}

/// Parses an IPv4 or IPv6 address in the usual text forms.
fn parse_ip(text: &str) -> Option<IpAddr> {
    // Cheap filter first: most event strings are not addresses.
    if text.len() < 2
        || text.len() > 45
        || !text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
    {
        return None;
    }
    text.parse().ok()
}

fn to_bits(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(v4) => (false, u32::from(v4) as u128),
        IpAddr::V6(v6) => (true, u128::from(v6)),
    }
}

#[cfg(test)]
mod tests {
    use super::IpRange;

    #[test]
    fn ipv4_blocks() {
        let r = IpRange::parse_cidr("10.0.0.0/22").unwrap();
        assert!(r.contains_text("10.0.3.186") && !r.contains_text("10.0.4.5"));
        let r = IpRange::parse_cidr("220.160.153.171/31").unwrap();
        assert!(r.contains_text("220.160.153.170") && !r.contains_text("220.160.153.172"));
        assert!(
            IpRange::parse_cidr("0.0.0.0/0")
                .unwrap()
                .contains_text("8.8.8.8")
        );
        assert!(
            !IpRange::parse_cidr("0.0.0.0/0")
                .unwrap()
                .contains_text("::1")
        );
    }

    #[test]
    fn ipv6_blocks_and_single_addresses() {
        let r = IpRange::parse_cidr("2001:db8::/32").unwrap();
        assert!(r.contains_text("2001:DB8::ff00:42:8329") && !r.contains_text("2001:db9::1"));
        assert!(IpRange::single("::0").unwrap().contains_text("0:0::0"));
        assert_eq!(IpRange::single("08:23"), None);
    }

    #[test]
    fn malformed_blocks_are_rejected() {
        for bad in [
            "foo",
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0/8",
            "::/129",
            "1.2.3.4/-1",
            "1.2.3.4/+1",
            "1.2.3.4/",
        ] {
            assert!(IpRange::parse_cidr(bad).is_err(), "{bad}");
        }
    }
}
