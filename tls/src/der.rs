//! The one field of a certificate read here: its `notAfter`.
//!
//! A few lines of DER walking instead of an X.509 library: rustls verifies certificates
//! itself and exposes no validity dates, and the expiry metric needs only this date.

use chrono::NaiveDate;

/// DER tags met on the way to `notAfter`.
const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// One DER element: (tag, contents, what follows it). `None` for anything malformed.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        // Long form: the low bits count the length's bytes (at most 4 here: no
        // certificate is 4 GiB).
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The `notAfter` of a DER certificate in Unix seconds, or `None` if the bytes are not
/// a certificate this walk understands.
pub fn not_after(cert: &[u8]) -> Option<i64> {
    let (SEQUENCE, cert, _) = element(cert)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(cert)? else {
        return None;
    };
    // TBSCertificate: [0] version (optional), serialNumber, signature, issuer, validity.
    let (tag, _, after_version) = element(tbs)?;
    let mut rest = if tag == VERSION { after_version } else { tbs };
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (SEQUENCE, validity, _) = element(rest)? else {
        return None;
    };
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    parse_time(tag, time)
}

/// An X.509 time (RFC 5280 4.1.2.5: UTCTime `YYMMDDHHMMSSZ` with years 1950-2049, or
/// GeneralizedTime `YYYYMMDDHHMMSSZ`) in Unix seconds.
fn parse_time(tag: u8, bytes: &[u8]) -> Option<i64> {
    if !bytes.ends_with(b"Z") || !bytes[..bytes.len() - 1].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits = std::str::from_utf8(&bytes[..bytes.len() - 1]).ok()?;
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy: i32 = digits[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let two = |i: usize| rest[i..i + 2].parse::<u32>().ok();
    let time =
        NaiveDate::from_ymd_opt(year, two(0)?, two(2)?)?.and_hms_opt(two(4)?, two(6)?, two(8)?)?;
    Some(time.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_not_after_of_a_generated_certificate_and_refuses_garbage() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 7, 9);
        let cert = params.clone().self_signed(&key).unwrap();
        // 2031-07-09T00:00:00Z
        assert_eq!(not_after(cert.der()), Some(1_941_321_600));
        // A date past 2049 is a GeneralizedTime.
        params.not_after = rcgen::date_time_ymd(2061, 1, 2);
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(not_after(cert.der()), Some(2_871_849_600));

        let der = cert.der().to_vec();
        for cut in 0..der.len() {
            assert_eq!(not_after(&der[..cut]), None, "cut at {cut}");
        }
        assert_eq!(not_after(b""), None);
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(parse_time(UTC_TIME, b"991231235959Z"), Some(946_684_799));
        assert_eq!(parse_time(UTC_TIME, b"991331235959Z"), None, "month 13");
        assert_eq!(parse_time(UTC_TIME, b"9912312359+9Z"), None);
        assert_eq!(parse_time(GENERALIZED_TIME, b"991231235959Z"), None);
    }
}
