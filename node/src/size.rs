//! Human-readable byte sizes (`500GiB`, `2TB`, `1048576`).

const UNITS: &[(&str, u64)] = &[
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("PiB", 1 << 50),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("PB", 1_000_000_000_000_000),
    ("B", 1),
];

pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let unit = unit.trim();
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size: expected e.g. \"500GiB\", \"2TB\" or \"1048576\""))?;
    let mult = if unit.is_empty() {
        1
    } else {
        UNITS
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(unit))
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("`{unit}` is not a size unit: use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"))?
    };
    n.checked_mul(mult).ok_or_else(|| format!("`{text}` is too large"))
}

pub fn format_size(bytes: u64) -> String {
    const STEPS: &[(&str, u64)] = &[("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, m) in STEPS {
        if bytes >= *m {
            return format!("{:.1} {unit}", bytes as f64 / *m as f64);
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("500GiB").unwrap(), 500 << 30);
        assert_eq!(parse_size("2 tb").unwrap(), 2_000_000_000_000);
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999PiB").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(3 << 30), "3.0 GiB");
    }
}
