//! Recurring billing as pure rules (DESIGN.md §10): anniversary months, which months a
//! run on a given date charges, the grace period, when a cancellation takes effect, and
//! how a quote's monthly VAT is shared among its lines. The database layer asks these;
//! it never does date arithmetic of its own.

use chrono::{Datelike, Days, Months, NaiveDate};
use rust_decimal::Decimal;

use super::ids::ServiceId;
use super::money::round_cents;
use super::states::ServiceStatus;

/// One billed month of a service: `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// The first day of month `n` (0 is the first) of a service started on `started_on`:
/// the same day of the month, clamped to the month's last day (31 Jan → 28/29 Feb →
/// 31 Mar). Always counted from the start, so a short month never shortens later ones.
pub fn period_start(started_on: NaiveDate, n: u32) -> NaiveDate {
    started_on.checked_add_months(Months::new(n)).unwrap_or(NaiveDate::MAX)
}

/// Month `n` of a service started on `started_on`.
pub fn period(started_on: NaiveDate, n: u32) -> Period {
    let next = period_start(started_on, n + 1);
    Period { start: period_start(started_on, n), end: next.pred_opt().unwrap_or(next) }
}

/// What acceptance pays: the first month, so the service is paid through its last day.
pub fn first_paid_through(started_on: NaiveDate) -> NaiveDate {
    period(started_on, 0).end
}

/// The last day of a term of `term_months` months.
pub fn term_ends_on(started_on: NaiveDate, term_months: u32) -> NaiveDate {
    period(started_on, term_months.max(1) - 1).end
}

/// The number of the month that starts the day after `paid_through`. Month `n` always
/// starts in the `n`th calendar month after the start, whatever the clamping.
fn next_index(started_on: NaiveDate, paid_through: NaiveDate) -> u32 {
    let next = paid_through.succ_opt().unwrap_or(paid_through);
    let months = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    u32::try_from(months(next) - months(started_on)).unwrap_or(0)
}

/// What the run needs to know of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub started_on: NaiveDate,
    pub paid_through: NaiveDate,
    pub cancel_at: Option<NaiveDate>,
}

impl Schedule {
    /// The first month not yet paid.
    pub fn next(&self) -> Period {
        period(self.started_on, next_index(self.started_on, self.paid_through))
    }

    /// The day the unpaid months are owed from.
    pub fn owed_since(&self) -> NaiveDate {
        self.next().start
    }

    /// Every unpaid month that starts on or before `date` and before `cancel_at`,
    /// oldest first: what a run for `date` charges.
    pub fn due(&self, date: NaiveDate) -> Vec<Period> {
        let first = next_index(self.started_on, self.paid_through);
        (first..)
            .map(|n| period(self.started_on, n))
            .take_while(|p| p.start <= date && self.cancel_at.is_none_or(|c| p.start < c))
            .collect()
    }

    /// Whether the cancellation has taken effect by `date`: the next month is not
    /// charged (it starts on or after `cancel_at`) and it has begun.
    pub fn cancelled_by(&self, date: NaiveDate) -> bool {
        let next = self.next().start;
        self.cancel_at.is_some_and(|c| next >= c && next <= date)
    }

    /// Whether a month has stayed unpaid for `grace_days` days by `date`.
    pub fn past_grace(&self, date: NaiveDate, grace_days: u32) -> bool {
        self.owed_since().checked_add_days(Days::new(grace_days.into())).is_some_and(|end| date >= end)
    }

    /// The number of the service month running on `today`.
    fn running_index(&self, today: NaiveDate) -> u32 {
        let months = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
        let n = u32::try_from(months(today) - months(self.started_on)).unwrap_or(0);
        // It may have begun in the previous calendar month (a later day of the month).
        if period_start(self.started_on, n) > today { n.saturating_sub(1) } else { n }
    }

    /// When a cancellation asked for on `today` takes effect (its last day): inside the
    /// term at the term's end, after it at the end of the month running on `today` (or
    /// of the last month already paid, if later: a paid month is kept).
    pub fn cancellation_day(&self, term_ends_on: NaiveDate, today: NaiveDate) -> NaiveDate {
        if today <= term_ends_on {
            return term_ends_on;
        }
        period(self.started_on, self.running_index(today)).end.max(self.paid_through)
    }

    /// What is paid for and not yet used on `today`, at `monthly_amount` a month: the
    /// days of the running month after today (pro rata by the month's days) and every
    /// whole month paid beyond it. What ending the service at once refunds.
    pub fn unused(&self, monthly_amount: Decimal, today: NaiveDate) -> Decimal {
        if self.paid_through <= today {
            return Decimal::ZERO;
        }
        let n = self.running_index(today);
        let running = period(self.started_on, n);
        let days = (running.end - running.start).num_days() + 1;
        let left = (running.end - today).num_days().max(0);
        let whole = next_index(self.started_on, self.paid_through).saturating_sub(n + 1);
        round_cents(monthly_amount * Decimal::from(left) / Decimal::from(days)) + monthly_amount * Decimal::from(whole)
    }
}

/// A billable service as the run finds it (locked, under its organisation's wallet lock).
#[derive(Debug, Clone)]
pub struct Billable {
    pub id: ServiceId,
    pub status: ServiceStatus,
    pub schedule: Schedule,
    pub monthly_amount: Decimal,
}

/// One month to charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub service: ServiceId,
    pub period: Period,
    pub amount: Decimal,
}

/// What a service's status change asks the provisioning side to do (a `vm_logs` row
/// for each VM of a VM service; other services have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmRequest {
    Suspend,
    Resume,
    Deprovision,
}

impl VmRequest {
    pub fn event(self) -> &'static str {
        match self {
            VmRequest::Suspend => "suspend requested",
            VmRequest::Resume => "resume requested",
            VmRequest::Deprovision => "deprovision requested",
        }
    }
}

/// A service's row after the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub service: ServiceId,
    pub status: ServiceStatus,
    pub paid_through: NaiveDate,
    pub request: Option<VmRequest>,
}

/// What a run for one date does to one organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Every due month, oldest first: charged together, or (when short) none of them.
    pub charges: Vec<Charge>,
    /// What the due months come to.
    pub total: Decimal,
    /// The wallet cannot pay `total`: nothing is charged.
    pub short: bool,
    /// The services whose row changes.
    pub changes: Vec<Change>,
}

/// The run for `date` over one organisation's billable services and its `balance`: all
/// its due months or none; short, its owing services go in arrears and, past
/// `grace_days`, suspended; paid, they are active again (resumed if suspended); a
/// service whose cancellation has begun is cancelled.
pub fn plan(services: &[Billable], balance: Decimal, date: NaiveDate, grace_days: u32) -> Plan {
    let mut charges: Vec<Charge> = services
        .iter()
        .flat_map(|s| {
            s.schedule.due(date).into_iter().map(|period| Charge { service: s.id, period, amount: s.monthly_amount })
        })
        .collect();
    charges.sort_by_key(|c| (c.period.start, c.service));
    let total: Decimal = charges.iter().map(|c| c.amount).sum();
    let short = total > balance;
    let mut changes = Vec::new();
    for s in services {
        let due = s.schedule.due(date);
        let change = if short && !due.is_empty() {
            let past_grace = s.schedule.past_grace(date, grace_days);
            match s.status {
                ServiceStatus::Suspended => None,
                _ if past_grace => Some((ServiceStatus::Suspended, s.schedule.paid_through, Some(VmRequest::Suspend))),
                ServiceStatus::InArrears => None,
                _ => Some((ServiceStatus::InArrears, s.schedule.paid_through, None)),
            }
        } else {
            let paid_through = due.last().map_or(s.schedule.paid_through, |p| p.end);
            let after = Schedule { paid_through, ..s.schedule };
            if after.cancelled_by(date) {
                Some((ServiceStatus::Cancelled, paid_through, Some(VmRequest::Deprovision)))
            } else if s.status == ServiceStatus::Suspended && !short {
                Some((ServiceStatus::Active, paid_through, Some(VmRequest::Resume)))
            } else if s.status != ServiceStatus::Active || !due.is_empty() {
                Some((ServiceStatus::Active, paid_through, None))
            } else {
                None
            }
        };
        if let Some((status, paid_through, request)) = change {
            changes.push(Change { service: s.id, status, paid_through, request });
        }
    }
    Plan { charges, total, short, changes }
}

/// What a service's money looks like on `today`: its next charge, and what it owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outlook {
    /// The day the next month is charged (today or earlier: at the next run), if any
    /// month is still to be charged.
    pub next_charge: Option<NaiveDate>,
    /// Unpaid months already due, in arrears or suspended.
    pub owed: Decimal,
    pub owed_since: Option<NaiveDate>,
}

impl Billable {
    pub fn outlook(&self, today: NaiveDate) -> Outlook {
        let next = self.schedule.next();
        let next_charge = self.schedule.cancel_at.is_none_or(|c| next.start < c).then_some(next.start);
        let in_arrears = matches!(self.status, ServiceStatus::InArrears | ServiceStatus::Suspended);
        let owing = if in_arrears { self.schedule.due(today).len() } else { 0 };
        Outlook {
            next_charge,
            owed: self.monthly_amount * Decimal::from(owing),
            owed_since: (owing > 0).then(|| self.schedule.owed_since()),
        }
    }
}

/// An organisation's next charge: its day and what the services charged that day come
/// to (months already due count as due today).
pub fn next_charge(services: &[Billable], today: NaiveDate) -> Option<(NaiveDate, Decimal)> {
    let dates: Vec<(NaiveDate, Decimal)> = services
        .iter()
        .filter_map(|s| s.outlook(today).next_charge.map(|d| (d.max(today), s.monthly_amount)))
        .collect();
    let first = dates.iter().map(|(d, _)| *d).min()?;
    Some((first, dates.iter().filter(|(d, _)| *d == first).map(|(_, a)| *a).sum()))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn schedule(started_on: NaiveDate, paid_through: NaiveDate) -> Schedule {
        Schedule { started_on, paid_through, cancel_at: None }
    }

    #[test]
    fn anniversary_months_clamp_to_the_month_end_and_come_back() {
        let start = day(2028, 1, 31); // 2028 is a leap year
        let starts: Vec<_> = (0..5).map(|n| period_start(start, n)).collect();
        assert_eq!(starts, [day(2028, 1, 31), day(2028, 2, 29), day(2028, 3, 31), day(2028, 4, 30), day(2028, 5, 31)]);
        assert_eq!(period_start(day(2027, 1, 31), 1), day(2027, 2, 28));
        assert_eq!(period(start, 0), Period { start, end: day(2028, 2, 28) });
        assert_eq!(period(start, 1), Period { start: day(2028, 2, 29), end: day(2028, 3, 30) });
        assert_eq!(first_paid_through(day(2026, 12, 3)), day(2027, 1, 2));
        assert_eq!(first_paid_through(day(2026, 1, 1)), day(2026, 1, 31));
        assert_eq!(term_ends_on(day(2026, 1, 31), 12), day(2027, 1, 30));
        assert_eq!(term_ends_on(day(2026, 1, 31), 1), day(2026, 2, 27));
        // 29 February: the next year's months fall on the 28th, then back to the 29th.
        assert_eq!(period_start(day(2028, 2, 29), 12), day(2029, 2, 28));
        assert_eq!(period_start(day(2028, 2, 29), 13), day(2029, 3, 29));
    }

    #[test]
    fn a_run_charges_every_missed_month_oldest_first_and_none_twice() {
        let start = day(2028, 1, 31);
        let s = schedule(start, first_paid_through(start));
        assert_eq!(s.next().start, day(2028, 2, 29));
        assert!(s.due(day(2028, 2, 28)).is_empty());
        assert_eq!(s.due(day(2028, 2, 29)).len(), 1);
        let due = s.due(day(2028, 4, 30));
        assert_eq!(
            due.iter().map(|p| p.start).collect::<Vec<_>>(),
            [day(2028, 2, 29), day(2028, 3, 31), day(2028, 4, 30)]
        );
        let paid = schedule(start, due.last().unwrap().end);
        assert_eq!(paid.paid_through, day(2028, 5, 30));
        assert!(paid.due(day(2028, 5, 30)).is_empty());
        assert_eq!(paid.due(day(2028, 5, 31)), [period(start, 4)]);
        // Fourteen months of runs on each charge day are fourteen months.
        let mut s = schedule(start, first_paid_through(start));
        let mut charged = 0;
        for n in 1..=14 {
            let due = s.due(period_start(start, n));
            assert_eq!(due.len(), 1);
            charged += due.len();
            s.paid_through = due[0].end;
        }
        assert_eq!(charged, 14);
    }

    #[test]
    fn no_month_starting_on_or_after_cancel_at_is_charged() {
        let start = day(2026, 1, 15);
        let mut s = schedule(start, first_paid_through(start));
        s.cancel_at = Some(day(2026, 3, 14));
        assert_eq!(s.due(day(2026, 12, 31)), [period(start, 1)]);
        assert!(!s.cancelled_by(day(2026, 3, 14)));
        s.paid_through = day(2026, 3, 14);
        assert!(s.due(day(2026, 12, 31)).is_empty());
        assert!(!s.cancelled_by(day(2026, 3, 14)));
        assert!(s.cancelled_by(day(2026, 3, 15)));
    }

    #[test]
    fn cancelling_takes_effect_at_the_term_end_or_the_end_of_the_running_month() {
        let start = day(2026, 1, 31);
        let term_end = term_ends_on(start, 12);
        let s = schedule(start, day(2026, 6, 29));
        assert_eq!(s.cancellation_day(term_end, day(2026, 6, 1)), term_end);
        let after = schedule(start, day(2027, 3, 30));
        // 10 March 2027 falls in the month that began on 28 February.
        assert_eq!(after.cancellation_day(term_end, day(2027, 3, 10)), day(2027, 3, 30));
        // In arrears on 31 March: the month that began that day is owed and is the last.
        assert_eq!(after.cancellation_day(term_end, day(2027, 3, 31)), day(2027, 4, 29));
        let prepaid = schedule(start, day(2027, 8, 30));
        assert_eq!(prepaid.cancellation_day(term_end, day(2027, 3, 10)), day(2027, 8, 30));
    }

    #[test]
    fn ending_at_once_leaves_the_rest_of_the_paid_month_and_any_later_ones_unused() {
        let start = day(2026, 1, 10);
        let s = schedule(start, day(2026, 2, 9)); // the first month, 31 days, paid
        assert_eq!(s.unused(dec!(310), day(2026, 1, 10)), dec!(300), "30 of 31 days left");
        assert_eq!(s.unused(dec!(310), day(2026, 2, 8)), dec!(10));
        assert_eq!(s.unused(dec!(310), day(2026, 2, 9)), dec!(0), "the last paid day");
        assert_eq!(s.unused(dec!(310), day(2026, 3, 1)), dec!(0), "nothing paid is left");
        let prepaid = schedule(start, day(2026, 4, 9)); // three months paid
        // On 1 February: 8 of January's month's 31 days left, and two whole months.
        assert_eq!(prepaid.unused(dec!(310), day(2026, 2, 1)), dec!(80) + dec!(620));
        assert_eq!(s.unused(dec!(100), day(2026, 1, 20)), dec!(64.52), "20 of 31 days, rounded once");
    }

    #[test]
    fn grace_counts_from_the_first_unpaid_day() {
        let start = day(2026, 1, 10);
        let s = schedule(start, first_paid_through(start)); // owes from 10 February
        assert_eq!(s.owed_since(), day(2026, 2, 10));
        assert!(!s.past_grace(day(2026, 2, 16), 7));
        assert!(s.past_grace(day(2026, 2, 17), 7));
        assert!(s.past_grace(day(2026, 2, 10), 0));
    }

    fn billable(id: i64, status: ServiceStatus, started_on: NaiveDate, paid_through: NaiveDate) -> Billable {
        Billable {
            id: ServiceId(id),
            status,
            schedule: Schedule { started_on, paid_through, cancel_at: None },
            monthly_amount: dec!(100),
        }
    }

    #[test]
    fn a_run_charges_everything_due_or_nothing() {
        let a = billable(1, ServiceStatus::Active, day(2026, 1, 10), day(2026, 2, 9));
        let b = billable(2, ServiceStatus::Active, day(2026, 1, 5), day(2026, 3, 4));
        let plan = plan(&[a.clone(), b.clone()], dec!(300), day(2026, 3, 10), 7);
        assert!(!plan.short);
        let starts: Vec<_> = plan.charges.iter().map(|c| (c.service.0, c.period.start)).collect();
        assert_eq!(starts, [(1, day(2026, 2, 10)), (2, day(2026, 3, 5)), (1, day(2026, 3, 10))], "oldest first");
        assert_eq!(plan.total, dec!(300));
        assert_eq!(plan.changes.len(), 2);
        assert_eq!(plan.changes[0].paid_through, day(2026, 4, 9));
        let short = super::plan(&[a, b], dec!(299.99), day(2026, 3, 10), 60);
        assert!(short.short && short.charges.len() == 3, "owed, not charged");
        assert!(short.changes.iter().all(|c| c.status == ServiceStatus::InArrears && c.request.is_none()));
    }

    #[test]
    fn arrears_then_suspension_then_resumption() {
        let owing = billable(1, ServiceStatus::InArrears, day(2026, 1, 10), day(2026, 2, 9));
        let p = plan(std::slice::from_ref(&owing), dec!(0), day(2026, 2, 16), 7);
        assert!(p.short && p.changes.is_empty(), "still in arrears: nothing to change");
        let p = plan(std::slice::from_ref(&owing), dec!(0), day(2026, 2, 17), 7);
        assert_eq!(p.changes[0].status, ServiceStatus::Suspended);
        assert_eq!(p.changes[0].request, Some(VmRequest::Suspend));
        let suspended = Billable { status: ServiceStatus::Suspended, ..owing };
        assert!(plan(std::slice::from_ref(&suspended), dec!(0), day(2026, 2, 20), 7).changes.is_empty());
        let p = plan(&[suspended], dec!(1000), day(2026, 3, 10), 7);
        assert_eq!(p.charges.len(), 2);
        assert_eq!(p.changes[0].status, ServiceStatus::Active);
        assert_eq!(p.changes[0].request, Some(VmRequest::Resume));
    }

    #[test]
    fn the_outlook_names_the_next_charge_and_what_is_owed() {
        let today = day(2026, 3, 12);
        let paid = billable(1, ServiceStatus::Active, day(2026, 1, 10), day(2026, 4, 9));
        assert_eq!(
            paid.outlook(today),
            Outlook { next_charge: Some(day(2026, 4, 10)), owed: dec!(0), owed_since: None }
        );
        let owing = billable(2, ServiceStatus::InArrears, day(2026, 1, 10), day(2026, 2, 9));
        let o = owing.outlook(today);
        assert_eq!((o.next_charge, o.owed, o.owed_since), (Some(day(2026, 2, 10)), dec!(200), Some(day(2026, 2, 10))));
        let mut ending = paid.clone();
        ending.schedule.cancel_at = Some(day(2026, 4, 9));
        assert_eq!(ending.outlook(today).next_charge, None);
        // Owed months are due now, with the others due the same day.
        assert_eq!(next_charge(&[paid.clone(), owing], today), Some((today, dec!(100))));
        let b = billable(3, ServiceStatus::Active, day(2026, 2, 10), day(2026, 4, 9));
        assert_eq!(next_charge(&[paid, b], today), Some((day(2026, 4, 10), dec!(200))));
        assert_eq!(next_charge(&[ending], today), None);
    }

    #[test]
    fn a_cancelled_service_stops_at_cancel_at() {
        let mut s = billable(1, ServiceStatus::Active, day(2026, 1, 10), day(2026, 2, 9));
        s.schedule.cancel_at = Some(day(2026, 3, 9));
        let p = plan(std::slice::from_ref(&s), dec!(1000), day(2026, 6, 1), 7);
        assert_eq!(p.charges.len(), 1, "February's month only");
        assert_eq!(p.changes[0].status, ServiceStatus::Cancelled);
        assert_eq!(p.changes[0].request, Some(VmRequest::Deprovision));
        assert_eq!(p.changes[0].paid_through, day(2026, 3, 9));
        let p = plan(&[s], dec!(1000), day(2026, 2, 20), 7);
        assert_eq!(p.changes[0].status, ServiceStatus::Active, "not yet");
    }
}
