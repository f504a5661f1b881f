//! Words for explanations: dates as a DPO writes them ("Sat 31 Jan 2026") and counted nouns.

use time::Date;

/// "Sat 31 Jan 2026".
pub(crate) fn day(date: Date) -> String {
    let weekday = date.weekday().to_string();
    let month = date.month().to_string();
    format!(
        "{} {} {} {}",
        &weekday[..3],
        date.day(),
        &month[..3],
        date.year()
    )
}

/// "1 month", "3 months".
pub(crate) fn plural(n: u32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_read_as_a_dpo_writes_them() {
        assert_eq!(day(date!(2026 - 01 - 31)), "Sat 31 Jan 2026");
        assert_eq!(day(date!(2026 - 03 - 02)), "Mon 2 Mar 2026");
        assert_eq!(plural(1, "day"), "1 day");
        assert_eq!(plural(3, "week"), "3 weeks");
    }
}
