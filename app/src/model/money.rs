use std::fmt;

use serde::{Deserialize, Serialize};

/// The currencies the shop prices in. Amounts are always integer minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Currency {
    #[default]
    USD,
    EUR,
}

impl Currency {
    pub fn symbol(self) -> &'static str {
        match self {
            Currency::USD => "$",
            Currency::EUR => "€",
        }
    }
}

/// An amount of money in minor units (cents). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub fn usd(minor: i64) -> Self {
        Self::new(minor, Currency::USD)
    }

    /// Minor units from what a person types: `12`, `12.9`, `12.90`, `$1,299.00`.
    /// Never through floating point.
    pub fn parse_minor(text: &str) -> Result<i64, String> {
        let bad = || format!("'{}' is not a price; write it like 12.90", text.chars().take(20).collect::<String>());
        let t = text.trim().trim_start_matches(['$', '€']).replace(',', "");
        let (units, cents) = t.split_once('.').unwrap_or((&t, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(units) || !(cents.is_empty() || (digits(cents) && cents.len() <= 2)) {
            return Err(bad());
        }
        let units: i64 = units.parse().map_err(|_| bad())?;
        let cents: i64 = if cents.is_empty() { 0 } else { format!("{cents:0<2}").parse().map_err(|_| bad())? };
        units.checked_mul(100).and_then(|u| u.checked_add(cents)).ok_or_else(bad)
    }

    /// The amount as a person would type it back: `1299.00` (no symbol, no separators).
    pub fn plain(self) -> String {
        format!("{}.{:02}", self.minor / 100, (self.minor % 100).abs())
    }

    /// `self * qty`, or `None` on overflow.
    pub fn checked_mul(self, qty: i64) -> Option<Self> {
        self.minor.checked_mul(qty).map(|minor| Self { minor, ..self })
    }

    /// `self + other` in the same currency, or `None` on overflow or a currency mismatch.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        if self.currency != other.currency {
            return None;
        }
        self.minor.checked_add(other.minor).map(|minor| Self { minor, ..self })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let (units, cents) = (abs / 100, abs % 100);
        // Thousands separators: 1,299.00
        let digits = units.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "{sign}{}{grouped}.{cents:02}", self.currency.symbol())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_prints_with_symbol_separators_and_cents() {
        assert_eq!(Money::usd(0).to_string(), "$0.00");
        assert_eq!(Money::usd(5).to_string(), "$0.05");
        assert_eq!(Money::usd(129_999).to_string(), "$1,299.99");
        assert_eq!(Money::usd(-250).to_string(), "-$2.50");
        assert_eq!(Money::new(100_000_000, Currency::EUR).to_string(), "€1,000,000.00");
    }

    #[test]
    fn typed_prices_become_minor_units_exactly() {
        assert_eq!(Money::parse_minor("12.90"), Ok(1290));
        assert_eq!(Money::parse_minor(" $1,299.5 "), Ok(129_950));
        assert_eq!(Money::parse_minor("7"), Ok(700));
        for bad in ["", "-1", "1.234", "abc", "1.2.3", "99999999999999999999"] {
            assert!(Money::parse_minor(bad).is_err(), "{bad}");
        }
        assert_eq!(Money::usd(129_950).plain(), "1299.50");
    }

    #[test]
    fn money_arithmetic_refuses_overflow_and_mixed_currencies() {
        assert_eq!(Money::usd(250).checked_mul(3), Some(Money::usd(750)));
        assert_eq!(Money::usd(i64::MAX).checked_mul(2), None);
        assert_eq!(Money::usd(1).checked_add(Money::usd(2)), Some(Money::usd(3)));
        assert_eq!(Money::usd(1).checked_add(Money::new(2, Currency::EUR)), None);
    }

    #[test]
    fn money_json_is_integer_minor_units() {
        let json = serde_json::to_string(&Money::usd(1299)).unwrap_or_default();
        assert_eq!(json, r#"{"minor":1299,"currency":"USD"}"#);
    }
}

/// Property tests for prices typed by people.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_is_a_price_or_refused_never_negative(s in "\\PC{0,40}") {
            if let Ok(minor) = Money::parse_minor(&s) {
                prop_assert!(minor >= 0);
                prop_assert_eq!(Money::parse_minor(&Money::usd(minor).plain()), Ok(minor));
            }
        }

        #[test]
        fn price_shaped_text_never_panics(sign in "[$€-]{0,2}", units in "[0-9,]{0,25}", dot in "[.]{0,2}", cents in "[0-9]{0,4}") {
            let _ = Money::parse_minor(&format!("{sign}{units}{dot}{cents}"));
        }

        #[test]
        fn written_prices_parse_exactly(units in 0i64..10_000_000_000, cents in 0i64..100) {
            prop_assert_eq!(Money::parse_minor(&format!("{units}.{cents:02}")), Ok(units * 100 + cents));
            prop_assert_eq!(Money::parse_minor(&format!("${units}")), Ok(units * 100));
        }
    }
}
