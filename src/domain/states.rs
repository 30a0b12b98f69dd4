//! Statuses and kinds: one enum per TEXT + CHECK column, mapped to its words here and
//! nowhere else. Code compares enums, never strings; the database's CHECK constraints
//! list the same words, so a value the enum does not know cannot be stored.

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the order forms list them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word stored in the database and shown on pages.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value a stored or submitted word names, if any.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// The API describes it as one of its words.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                $name::parse(&text).ok_or_else(|| format!("unknown {}: {text:?}", stringify!($name)).into())
            }
        }
    };
}

text_enum!(
    /// `quotes.status`. `Expired` is also what a pending quote past its validity is,
    /// whether or not anything has written that down (see [`QuoteStatus::at`]).
    QuoteStatus {
        Draft = "draft",
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
        Expired = "expired",
        Cancelled = "cancelled",
    }
);

text_enum!(
    /// `quotes.kind`: which builder made the quote.
    QuoteKind { Vm = "vm", Service = "service", Network = "network" }
);

text_enum!(
    /// `organisations.status`.
    OrganisationStatus { Active = "active", Suspended = "suspended" }
);

text_enum!(
    /// `wallet_transactions.kind`.
    TransactionKind { Credit = "credit", Debit = "debit", Refund = "refund", Adjustment = "adjustment" }
);

text_enum!(
    /// `invoices.kind`: a tax invoice (a debit) or a credit note (a refund or a
    /// correcting adjustment).
    InvoiceKind { TaxInvoice = "tax_invoice", CreditNote = "credit_note" }
);

text_enum!(
    /// `quote_lines.billing` and `products.billing`: how a price is charged.
    Billing { OnceOff = "once_off", Monthly = "monthly" }
);

text_enum!(
    /// `quote_lines.catalog`: the catalog database a line was priced from (and the one a
    /// priced row is edited in).
    Catalog { Aas = "aas", Enetworks = "enetworks" }
);

text_enum!(
    /// `products.vm_component`: the part of a custom VM size a product prices.
    VmComponent {
        Vcpu = "vcpu",
        RamGb = "ram_gb",
        DiskGbSsd = "disk_gb_ssd",
        DiskGbNvme = "disk_gb_nvme",
        DiskGbHdd = "disk_gb_hdd",
        OsLinux = "os_linux",
        OsWindows = "os_windows",
    }
);

text_enum!(
    /// `services.status`. Active, in arrears and suspended services are billed (a
    /// suspended one owes its months until a top-up pays them); cancelled and ended ones
    /// never again.
    ServiceStatus {
        Active = "active",
        InArrears = "in_arrears",
        Suspended = "suspended",
        Cancelled = "cancelled",
        Ended = "ended",
    }
);

text_enum!(
    /// `billing_runs.source`: what started a billing run.
    RunSource { Cli = "cli", Hourly = "hourly", Staff = "staff" }
);

impl ServiceStatus {
    /// The statuses the monthly run looks at.
    pub const BILLABLE: [ServiceStatus; 3] =
        [ServiceStatus::Active, ServiceStatus::InArrears, ServiceStatus::Suspended];

    /// Whether the monthly run still charges it.
    pub fn is_billable(self) -> bool {
        Self::BILLABLE.contains(&self)
    }

    /// How the status reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            ServiceStatus::Active => "active",
            ServiceStatus::InArrears => "in arrears",
            ServiceStatus::Suspended => "suspended",
            ServiceStatus::Cancelled => "cancelled",
            ServiceStatus::Ended => "ended",
        }
    }
}

impl Billing {
    /// How a line's billing reads on a quote.
    pub fn label(self) -> &'static str {
        match self {
            Billing::OnceOff => "once-off",
            Billing::Monthly => "monthly",
        }
    }
}

impl QuoteKind {
    /// How the kind reads on a page: what was quoted, never the stored word.
    pub fn label(self) -> &'static str {
        match self {
            QuoteKind::Vm => "Virtual machines",
            QuoteKind::Service => "Services",
            QuoteKind::Network => "Connectivity",
        }
    }
}

impl QuoteStatus {
    /// The status as of `now`: a pending quote past its validity is expired, so no
    /// background job is needed for correctness.
    pub fn at(self, valid_until: DateTime<Utc>, now: DateTime<Utc>) -> QuoteStatus {
        if self == QuoteStatus::Pending && valid_until <= now { QuoteStatus::Expired } else { self }
    }

    pub fn is_pending(self) -> bool {
        self == QuoteStatus::Pending
    }

    pub fn is_accepted(self) -> bool {
        self == QuoteStatus::Accepted
    }
}

impl OrganisationStatus {
    pub fn is_active(self) -> bool {
        self == OrganisationStatus::Active
    }

    pub fn is_suspended(self) -> bool {
        self == OrganisationStatus::Suspended
    }
}

/// Why a quote cannot be accepted (or declined) now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAcceptable {
    #[error("this quote is {0} and can no longer be accepted or declined")]
    NotPending(QuoteStatus),
    #[error("this quote has expired; ask for a new one")]
    Expired,
    #[error("your organisation's account is suspended, so it cannot accept quotes")]
    Suspended,
}

/// Who may accept a quote, in one place: the acceptance transaction enforces it under
/// the row locks, and the quote page asks it whether to show the button. The money
/// (the wallet covering the amount due) is checked by the transaction under the wallet
/// lock; the permission (`quote.accept`) by the route.
pub fn may_accept(
    status: QuoteStatus,
    valid_until: DateTime<Utc>,
    organisation: OrganisationStatus,
    now: DateTime<Utc>,
) -> Result<(), NotAcceptable> {
    may_decline(status, valid_until, now)?;
    if !organisation.is_active() {
        return Err(NotAcceptable::Suspended);
    }
    Ok(())
}

/// A quote may be declined while it is pending and valid (a suspended organisation may
/// still decline).
pub fn may_decline(status: QuoteStatus, valid_until: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), NotAcceptable> {
    match status.at(valid_until, now) {
        QuoteStatus::Pending => Ok(()),
        QuoteStatus::Expired => Err(NotAcceptable::Expired),
        other => Err(NotAcceptable::NotPending(other)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn every_word_round_trips() {
        for s in QuoteStatus::ALL {
            assert_eq!(QuoteStatus::parse(s.as_str()), Some(*s));
        }
        for k in TransactionKind::ALL {
            assert_eq!(TransactionKind::parse(&k.to_string()), Some(*k));
        }
        assert_eq!(QuoteKind::parse("VM"), None);
        assert_eq!(QuoteKind::Network.label(), "Connectivity");
        assert_eq!(QuoteKind::parse(QuoteKind::Vm.label()), None, "the label is not the stored word");
        assert_eq!(OrganisationStatus::parse("active"), Some(OrganisationStatus::Active));
        for c in VmComponent::ALL {
            assert_eq!(VmComponent::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Billing::parse("once-off"), None, "the label is not the stored word");
        assert_eq!(Catalog::parse("enetworks"), Some(Catalog::Enetworks));
        for s in ServiceStatus::ALL {
            assert_eq!(ServiceStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(ServiceStatus::parse("in arrears"), None, "the label is not the stored word");
        assert!(ServiceStatus::Suspended.is_billable() && !ServiceStatus::Cancelled.is_billable());
    }

    #[test]
    fn a_pending_quote_expires_at_its_validity() {
        let now = Utc::now();
        assert_eq!(QuoteStatus::Pending.at(now, now), QuoteStatus::Expired);
        assert_eq!(QuoteStatus::Pending.at(now + Duration::seconds(1), now), QuoteStatus::Pending);
        assert_eq!(QuoteStatus::Accepted.at(now - Duration::days(1), now), QuoteStatus::Accepted);
    }

    #[test]
    fn acceptance_policy() {
        let now = Utc::now();
        let later = now + Duration::days(1);
        let active = OrganisationStatus::Active;
        assert_eq!(may_accept(QuoteStatus::Pending, later, active, now), Ok(()));
        assert_eq!(may_accept(QuoteStatus::Pending, now, active, now), Err(NotAcceptable::Expired));
        assert_eq!(
            may_accept(QuoteStatus::Declined, later, active, now),
            Err(NotAcceptable::NotPending(QuoteStatus::Declined))
        );
        assert_eq!(
            may_accept(QuoteStatus::Pending, later, OrganisationStatus::Suspended, now),
            Err(NotAcceptable::Suspended)
        );
        assert_eq!(may_decline(QuoteStatus::Pending, later, now), Ok(()));
    }
}
