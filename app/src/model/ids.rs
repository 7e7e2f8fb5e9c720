use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a textual id did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("'{0}' is not a valid id (expected a positive whole number)")]
    NotANumber(String),
    #[error("'{0}' is not a valid category (use 1-40 lowercase letters, digits or '-')")]
    BadSlug(String),
}

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::Type), sqlx(transparent))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.parse::<i64>() {
                    Ok(n) if n > 0 && !s.starts_with('+') => Ok(Self(n)),
                    _ => Err(IdError::NotANumber(s.chars().take(40).collect())),
                }
            }
        }
    };
}

int_id!(
    /// A product's database id.
    ProductId
);
int_id!(
    /// A customer's (user's) database id.
    CustomerId
);
int_id!(
    /// An order's database id.
    OrderId
);
int_id!(
    /// A product question's database id.
    QuestionId
);
int_id!(
    /// An order message's database id.
    MessageId
);

/// A category's URL name: `electronics`, `coffee-tea`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CategorySlug(String);

impl CategorySlug {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = (1..=40).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok { Ok(Self(s.to_owned())) } else { Err(IdError::BadSlug(s.chars().take(40).collect())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CategorySlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CategorySlug {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CategorySlug {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CategorySlug> for String {
    fn from(s: CategorySlug) -> Self {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_positive_numbers_only() {
        assert_eq!("42".parse::<ProductId>(), Ok(ProductId(42)));
        for bad in ["0", "-1", "+3", "4.5", "", "abc", "99999999999999999999"] {
            assert!(bad.parse::<ProductId>().is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn slugs_are_lowercase_words_joined_by_dashes() {
        assert!(CategorySlug::parse("coffee-tea").is_ok());
        for bad in ["", "Coffee", "a b", "-x", "x-", "café", &"a".repeat(41)] {
            assert!(CategorySlug::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
