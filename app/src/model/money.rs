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
