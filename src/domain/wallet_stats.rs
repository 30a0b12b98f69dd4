//! Wallet figures for the wallet page, as pure functions of the ledger's monthly sums:
//! the last twelve months of money in and out, drawn as a bar chart (server-rendered
//! SVG geometry), what the running services commit the organisation to each month, and
//! the runway: how long the balance pays their charges, on their real charge dates.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::billing::Billable;
use super::money::format_zar;

/// One calendar month's movements (South African time). `month` is its first day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthTotals {
    pub month: NaiveDate,
    /// Credits, refunds and upward adjustments.
    pub money_in: Decimal,
    /// Debits and downward adjustments.
    pub money_out: Decimal,
}

/// The first day of `date`'s month.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a first day")
}

/// The first day of the oldest of the twelve months ending with `today`'s.
pub fn window_start(today: NaiveDate) -> NaiveDate {
    month_start(today) - Months::new(11)
}

/// The twelve calendar months ending with `today`'s, oldest first: the sums given,
/// zero for months without any, and nothing from outside the window.
pub fn last_twelve_months(sums: &[MonthTotals], today: NaiveDate) -> Vec<MonthTotals> {
    let first = window_start(today);
    (0..12)
        .map(|n| {
            let month = first + Months::new(n);
            sums.iter().find(|s| month_start(s.month) == month).cloned().map_or(
                MonthTotals { month, money_in: Decimal::ZERO, money_out: Decimal::ZERO },
                |s| MonthTotals { month, ..s },
            )
        })
        .collect()
}

pub const CHART_WIDTH: i64 = 720;
pub const CHART_HEIGHT: i64 = 240;
/// The bars stand on this line and reach at most `PLOT_HEIGHT` above it.
pub const BASELINE: i64 = 210;
pub const PLOT_HEIGHT: i64 = 180;
/// The vertical axis: its labels (amounts) are left of it, the months' bars right.
pub const AXIS_X: i64 = 120;
const SLOT: i64 = (CHART_WIDTH - AXIS_X) / 12;
const BAR_WIDTH: i64 = 20;

#[derive(Debug, PartialEq, Eq)]
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub amount: String,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ChartMonth {
    /// `Nov`: under the bars.
    pub label: String,
    /// `November 2026`: in the tooltip and the data table.
    pub name: String,
    pub label_x: i64,
    pub money_in: Bar,
    pub money_out: Bar,
}

/// A mark on the vertical axis: the amount a bar reaching `y` stands for.
#[derive(Debug, PartialEq, Eq)]
pub struct Tick {
    pub y: i64,
    pub label: String,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Chart {
    pub months: Vec<ChartMonth>,
    /// The largest month's figure, which a full-height bar stands for.
    pub scale: String,
    /// Zero, half the scale and the scale, bottom up.
    pub ticks: Vec<Tick>,
}

/// A bar's height in pixels: proportional to the largest figure, rounded half up.
fn bar_height(value: Decimal, max: Decimal) -> i64 {
    if max <= Decimal::ZERO || value <= Decimal::ZERO {
        return 0;
    }
    (value * Decimal::from(PLOT_HEIGHT) / max)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .unwrap_or(PLOT_HEIGHT)
}

fn bar(x: i64, value: Decimal, max: Decimal) -> Bar {
    let height = bar_height(value, max);
    Bar { x, y: BASELINE - height, width: BAR_WIDTH, height, amount: format_zar(value) }
}

/// Two bars per month (in, then out), side by side in the month's slot.
pub fn chart(months: &[MonthTotals]) -> Chart {
    let max = months.iter().flat_map(|m| [m.money_in, m.money_out]).max().unwrap_or(Decimal::ZERO);
    let months = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let left = AXIS_X + i as i64 * SLOT;
            ChartMonth {
                label: m.month.format("%b").to_string(),
                name: m.month.format("%B %Y").to_string(),
                label_x: left + SLOT / 2,
                money_in: bar(left + SLOT / 2 - BAR_WIDTH - 1, m.money_in, max),
                money_out: bar(left + SLOT / 2 + 1, m.money_out, max),
            }
        })
        .collect();
    let ticks = [(0, Decimal::ZERO), (PLOT_HEIGHT / 2, max / Decimal::TWO), (PLOT_HEIGHT, max)]
        .into_iter()
        .map(|(height, amount)| Tick { y: BASELINE - height, label: format_zar(amount) })
        .collect();
    Chart { months, scale: format_zar(max), ticks }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Runway {
    /// No running services: the balance is not being drawn down.
    NoCommitments,
    /// Nothing left to draw on: a month already due is unpaid.
    Empty,
    /// The balance pays every charge before `date`, the first it cannot pay, `days`
    /// from today.
    Until { date: NaiveDate, days: u64 },
}

/// How far ahead the runway looks: a balance that lasts longer has no end date shown.
const RUNWAY_HORIZON: Months = Months::new(120);

/// What the running services cost a month.
pub fn committed(services: &[Billable]) -> Decimal {
    services.iter().map(|s| s.monthly_amount).sum()
}

/// How long `balance` lasts, charge by charge on the services' real charge dates
/// (anniversary months, oldest first, none on or after a cancellation), counted from
/// `today`: the day of the first charge it cannot pay. Months already due count as
/// due today.
pub fn runway(balance: Decimal, services: &[Billable], today: NaiveDate) -> Runway {
    let horizon = today + RUNWAY_HORIZON;
    let mut charges: Vec<(NaiveDate, Decimal)> = services
        .iter()
        .flat_map(|s| s.schedule.due(horizon).into_iter().map(|p| (p.start.max(today), s.monthly_amount)))
        .collect();
    charges.sort();
    let mut left = balance;
    for (date, amount) in charges {
        if amount > left {
            return match (date - today).num_days() {
                days if days > 0 => Runway::Until { date, days: days.unsigned_abs() },
                _ => Runway::Empty,
            };
        }
        left -= amount;
    }
    Runway::NoCommitments
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::billing::Schedule;
    use crate::domain::ids::ServiceId;
    use crate::domain::states::ServiceStatus;
    use rust_decimal_macros::dec;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn totals(month: NaiveDate, money_in: Decimal, money_out: Decimal) -> MonthTotals {
        MonthTotals { month, money_in, money_out }
    }

    #[test]
    fn twelve_months_end_with_this_one_and_fill_the_gaps() {
        let today = day(2026, 11, 24);
        assert_eq!(window_start(today), day(2025, 12, 1));
        let sums = [
            totals(day(2025, 11, 1), dec!(999), dec!(0)), // before the window
            totals(day(2026, 2, 1), dec!(100), dec!(40)),
            totals(day(2026, 11, 1), dec!(0), dec!(8618.51)),
        ];
        let months = last_twelve_months(&sums, today);
        assert_eq!(months.len(), 12);
        assert_eq!(months[0], totals(day(2025, 12, 1), dec!(0), dec!(0)));
        assert_eq!(months[2], totals(day(2026, 2, 1), dec!(100), dec!(40)));
        assert_eq!(months[11], totals(day(2026, 11, 1), dec!(0), dec!(8618.51)));
        assert_eq!(months.iter().map(|m| m.money_in).sum::<Decimal>(), dec!(100), "the older month is left out");
        // A year boundary and month ends: January's window starts the February before.
        assert_eq!(last_twelve_months(&[], day(2027, 1, 31))[0].month, day(2026, 2, 1));
    }

    #[test]
    fn bars_are_proportional_to_the_largest_figure() {
        let today = day(2026, 11, 24);
        let sums =
            [totals(day(2026, 10, 1), dec!(50000), dec!(0)), totals(day(2026, 11, 1), dec!(25000), dec!(8618.51))];
        let chart = chart(&last_twelve_months(&sums, today));
        assert_eq!(chart.scale, "R 50 000.00");
        assert_eq!(chart.months.len(), 12);
        let oct = &chart.months[10];
        assert_eq!((oct.label.as_str(), oct.name.as_str()), ("Oct", "October 2026"));
        // Slots of 50 right of the axis at 120: October's is the 11th, its middle 645.
        assert_eq!(oct.money_in, Bar { x: 624, y: 30, width: 20, height: 180, amount: "R 50 000.00".into() });
        assert_eq!(oct.money_out.height, 0);
        let nov = &chart.months[11];
        assert_eq!(nov.money_in.height, 90);
        assert_eq!(nov.money_in.y, BASELINE - 90);
        // 8 618.51 / 50 000 × 180 = 31.026… → 31 pixels.
        assert_eq!(nov.money_out.height, 31);
        assert_eq!(nov.money_out.x, 120 + 11 * 50 + 26);
        assert_eq!(nov.money_out.amount, "R 8 618.51");
        assert_eq!(nov.label_x, 695);
        let ticks: Vec<(i64, &str)> = chart.ticks.iter().map(|t| (t.y, t.label.as_str())).collect();
        assert_eq!(ticks, [(210, "R 0.00"), (120, "R 25 000.00"), (30, "R 50 000.00")]);
        // Half a pixel rounds up.
        assert_eq!(bar_height(dec!(1), dec!(360)), 1);
        assert_eq!(bar_height(dec!(0.99), dec!(360)), 0);
    }

    #[test]
    fn an_empty_ledger_draws_no_bars() {
        let chart = chart(&last_twelve_months(&[], day(2026, 11, 24)));
        assert!(chart.months.iter().all(|m| m.money_in.height == 0 && m.money_out.height == 0));
        assert_eq!(chart.scale, "R 0.00");
    }

    fn billable(started_on: NaiveDate, paid_through: NaiveDate, amount: Decimal) -> Billable {
        Billable {
            id: ServiceId(1),
            status: ServiceStatus::Active,
            schedule: Schedule { started_on, paid_through, cancel_at: None },
            monthly_amount: amount,
        }
    }

    #[test]
    fn the_runway_ends_on_the_first_charge_the_balance_cannot_pay() {
        let today = day(2026, 12, 3);
        // Started today, first month paid: charges on the 3rd of each month from January.
        let s = billable(today, day(2027, 1, 2), dec!(1000));
        assert_eq!(committed(std::slice::from_ref(&s)), dec!(1000));
        // 11 000 pays eleven months (January to November); December's is the first unpaid.
        assert_eq!(
            runway(dec!(11000), std::slice::from_ref(&s), today),
            Runway::Until { date: day(2027, 12, 3), days: 365 }
        );
        assert_eq!(
            runway(dec!(999.99), std::slice::from_ref(&s), today),
            Runway::Until { date: day(2027, 1, 3), days: 31 }
        );
        // A month already owed and not covered: it has run out.
        let owing = billable(day(2026, 10, 31), day(2026, 11, 29), dec!(500));
        assert_eq!(runway(dec!(100), std::slice::from_ref(&owing), today), Runway::Empty);
        // Anniversary months: started 31 January, the 29 February charge comes first.
        let leap = billable(day(2028, 1, 31), day(2028, 2, 28), dec!(100));
        assert_eq!(runway(dec!(150), &[leap], day(2028, 2, 1)), Runway::Until { date: day(2028, 3, 31), days: 59 });
        // A cancelled service stops drawing; nothing running is no end date.
        let mut ending = s.clone();
        ending.schedule.cancel_at = Some(day(2027, 3, 2));
        assert_eq!(runway(dec!(2000), &[ending], today), Runway::NoCommitments);
        assert_eq!(runway(dec!(0), &[], today), Runway::NoCommitments);
    }
}
