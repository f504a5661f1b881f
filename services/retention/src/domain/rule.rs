//! The retention rule language: how a record class says when a record's disposal review falls
//! (003 §19; DESIGN §3.3). Rules are data a tenant edits, so they are parsed, never trusted.
//!
//! ```text
//! rule      := after(EVENT, PERIOD) | birthday(N) | earliest(rule, …) | latest(rule, …)
//!            | if(CONDITION, rule, rule)
//! PERIOD    := N y | N m | N w | N d          (years, months, weeks, days)
//! CONDITION := died_in_care | aged(EVENT, N)
//! ```
//!
//! Conventions (DESIGN §3.3): years and months count like calendar months (`dps-deadlines`), so
//! an anniversary of 29 February in a common year falls on **28 February** — the last day of the
//! month that has no 29th, as the deadline engine counts a month. A review date is a date to
//! *review*, so falling a day early loses nothing, whereas 1 March would keep a record a day past
//! its period. Review dates are never rolled to working days.

use std::fmt;

use dps_deadlines::period::add_months;
use time::{Date, Duration};

coded_enum!(
    /// An event in a record's life that a rule can count from.
    Event {
        /// The record was created.
        Created = "created",
        /// Discharge, or the last time the person was seen.
        Discharged = "discharged",
        /// The person died.
        Died = "died",
        /// Employment ended.
        LeftEmployment = "left_employment",
        /// The case, complaint, incident or request was closed.
        Closed = "closed",
        /// An appeal was closed.
        AppealClosed = "appeal_closed",
        /// Training was completed.
        TrainingCompleted = "training_completed",
        /// The recruitment decision (unsuccessful applicants; DESIGN §3.3).
        RecruitmentDecided = "recruitment_decided",
        /// The organisation ceased ("life of the organisation").
        OrganisationEnded = "organisation_ended",
    }
);

impl Event {
    /// How an explanation names it.
    pub fn phrase(self) -> &'static str {
        match self {
            Event::Created => "creation",
            Event::Discharged => "discharge or last contact",
            Event::Died => "death",
            Event::LeftEmployment => "leaving employment",
            Event::Closed => "closure",
            Event::AppealClosed => "closure of the appeal",
            Event::TrainingCompleted => "completion of training",
            Event::RecruitmentDecided => "the recruitment decision",
            Event::OrganisationEnded => "the end of the organisation",
        }
    }
}

/// Longest period a rule may name, so every date stays in range: 200 years.
const MAX_MONTHS: u32 = 200 * 12;
/// Highest birthday or age a rule may name.
const MAX_AGE: u32 = 150;
/// Deepest nesting of rules.
const MAX_DEPTH: usize = 16;
/// Most characters in a rule.
pub const MAX_RULE: usize = 1000;
/// Below this many months after its trigger a rule is flagged: the Limitation Act 1980 allows
/// claims for six years (DESIGN §3.3).
const LIMITATION_MONTHS: u32 = 72;

/// A length of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Calendar years.
    Years(u32),
    /// Calendar months.
    Months(u32),
    /// Weeks of seven days.
    Weeks(u32),
    /// Days.
    Days(u32),
}

impl Period {
    fn add_to(self, start: Date) -> Date {
        match self {
            Period::Years(n) => add_months(start, n * 12).0,
            Period::Months(n) => add_months(start, n).0,
            Period::Weeks(n) => start + Duration::weeks(i64::from(n)),
            Period::Days(n) => start + Duration::days(i64::from(n)),
        }
    }

    /// Roughly in months, for the limitation warning only.
    fn approx_months(self) -> u32 {
        match self {
            Period::Years(n) => n * 12,
            Period::Months(n) => n,
            Period::Weeks(n) => n * 7 / 30,
            Period::Days(n) => n / 30,
        }
    }

    fn words(self) -> String {
        let (n, unit) = match self {
            Period::Years(n) => (n, "year"),
            Period::Months(n) => (n, "month"),
            Period::Weeks(n) => (n, "week"),
            Period::Days(n) => (n, "day"),
        };
        format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Years(n) => write!(f, "{n}y"),
            Period::Months(n) => write!(f, "{n}m"),
            Period::Weeks(n) => write!(f, "{n}w"),
            Period::Days(n) => write!(f, "{n}d"),
        }
    }
}

/// A fact a rule can branch on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The person died while receiving our services (003 §19).
    DiedInCare,
    /// The person's age on the event's date was exactly N ("17 at the end of treatment").
    Aged(Event, u32),
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::DiedInCare => f.write_str("died_in_care"),
            Condition::Aged(event, n) => write!(f, "aged({}, {n})", event.code()),
        }
    }
}

/// When a record's disposal review falls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A fixed period after an event.
    After(Event, Period),
    /// The person's Nth birthday.
    Birthday(u32),
    /// The earliest of the operands already dated ("whichever is soonest"): an operand whose
    /// event has not happened cannot be known, and when it happens the record is re-dated.
    Earliest(Vec<Rule>),
    /// The latest of the operands, once all are dated.
    Latest(Vec<Rule>),
    /// One rule or the other, on a condition.
    If(Condition, Box<Rule>, Box<Rule>),
}

impl fmt::Display for Rule {
    /// The canonical text, which parses back to the same rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, rules: &[Rule]| {
            write!(f, "{name}(")?;
            for (i, r) in rules.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{r}")?;
            }
            f.write_str(")")
        };
        match self {
            Rule::After(event, period) => write!(f, "after({}, {period})", event.code()),
            Rule::Birthday(n) => write!(f, "birthday({n})"),
            Rule::Earliest(rules) => list(f, "earliest", rules),
            Rule::Latest(rules) => list(f, "latest", rules),
            Rule::If(c, a, b) => write!(f, "if({c}, {a}, {b})"),
        }
    }
}

/// What a rule is evaluated on: a record's dates and facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The person's birth date, if known.
    pub born: Option<Date>,
    /// Dates of events, by [`Event`]; `None` until the event happens.
    pub events: [Option<Date>; 9],
    /// The person died while receiving our services.
    pub died_in_care: bool,
}

impl Facts {
    /// The date of `event`, if it happened.
    pub fn date(&self, event: Event) -> Option<Date> {
        self.events[event as usize]
    }

    /// Sets the date of `event`.
    pub fn set(&mut self, event: Event, date: Option<Date>) {
        self.events[event as usize] = date;
    }
}

/// A date worked out by a rule, with how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated {
    /// The date.
    pub date: Date,
    /// How it was worked out, in words.
    pub explanation: String,
}

/// The Nth anniversary of `born` (28 February for a 29 February birth in a common year).
pub fn birthday(born: Date, n: u32) -> Date {
    add_months(born, n * 12).0
}

/// The person's age in whole years on `on`, by the same anniversary convention.
pub fn age_on(born: Date, on: Date) -> u32 {
    let mut years = u32::try_from(on.year() - born.year()).unwrap_or(0);
    while years > 0 && birthday(born, years) > on {
        years -= 1;
    }
    years
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl Rule {
    /// Parses rule text; the error says what is wrong and where, in a DPO's words.
    pub fn parse(text: &str) -> Result<Rule, String> {
        if text.chars().count() > MAX_RULE {
            return Err(format!("at most {MAX_RULE} characters"));
        }
        let mut parser = Parser {
            tokens: tokenize(text)?,
            at: 0,
        };
        let rule = parser.rule(0)?;
        match parser.peek() {
            None => Ok(rule),
            Some(t) => Err(format!("unexpected {} after the rule", t.describe())),
        }
    }

    /// The review date under this rule, or `None` while an event it needs has not happened.
    pub fn evaluate(&self, facts: &Facts) -> Option<Dated> {
        match self {
            Rule::After(event, period) => {
                let start = facts.date(*event)?;
                let date = period.add_to(start);
                Some(Dated {
                    date,
                    explanation: format!(
                        "{} after {} ({start}) = {date}",
                        period.words(),
                        event.phrase()
                    ),
                })
            }
            Rule::Birthday(n) => {
                let born = facts.born?;
                let date = birthday(born, *n);
                let leap = if born.month() == time::Month::February
                    && born.day() == 29
                    && date.day() == 28
                {
                    "; a 29 February birthday falls on 28 February in a common year"
                } else {
                    ""
                };
                Some(Dated {
                    date,
                    explanation: format!("{} birthday (born {born}{leap}) = {date}", ordinal(*n)),
                })
            }
            Rule::Earliest(rules) => {
                let dated: Vec<Dated> = rules.iter().filter_map(|r| r.evaluate(facts)).collect();
                let chosen = dated.iter().map(|d| d.date).min()?;
                Some(Dated {
                    date: chosen,
                    explanation: format!(
                        "earliest of [{}] = {chosen}",
                        join(&dated, rules.len() - dated.len())
                    ),
                })
            }
            Rule::Latest(rules) => {
                let dated: Vec<Dated> = rules
                    .iter()
                    .map(|r| r.evaluate(facts))
                    .collect::<Option<_>>()?;
                let chosen = dated.iter().map(|d| d.date).max()?;
                Some(Dated {
                    date: chosen,
                    explanation: format!("latest of [{}] = {chosen}", join(&dated, 0)),
                })
            }
            Rule::If(condition, then, otherwise) => {
                let (holds, why) = match condition {
                    Condition::DiedInCare => (
                        facts.died_in_care,
                        "died while receiving our services".to_owned(),
                    ),
                    Condition::Aged(event, n) => {
                        let age = facts
                            .born
                            .zip(facts.date(*event))
                            .map(|(born, on)| age_on(born, on));
                        let why = match age {
                            Some(age) => format!("aged {age} at {}", event.phrase()),
                            None => format!("age at {} not known", event.phrase()),
                        };
                        (age == Some(*n), why)
                    }
                };
                let branch = if holds { then } else { otherwise };
                let inner = branch.evaluate(facts)?;
                Some(Dated {
                    date: inner.date,
                    explanation: format!("{why}: {}", inner.explanation),
                })
            }
        }
    }

    /// Whether the rule reads the person's birth date (birthdays, ages).
    pub fn needs_birth_date(&self) -> bool {
        match self {
            Rule::After(..) => false,
            Rule::Birthday(_) => true,
            Rule::Earliest(rules) | Rule::Latest(rules) => rules.iter().any(Rule::needs_birth_date),
            Rule::If(c, a, b) => {
                matches!(c, Condition::Aged(..)) || a.needs_birth_date() || b.needs_birth_date()
            }
        }
    }

    /// Warnings a DPO should see before adopting the rule.
    pub fn warnings(&self) -> Vec<String> {
        match self.min_months() {
            Some(m) if m < LIMITATION_MONTHS => vec![format!(
                "the rule can end {} after its trigger, less than the 6 years of the Limitation Act 1980",
                Period::Months(m).words()
            )],
            _ => Vec::new(),
        }
    }

    /// The shortest time after its event the rule can give, where that is known.
    fn min_months(&self) -> Option<u32> {
        match self {
            Rule::After(_, period) => Some(period.approx_months()),
            // Counted from birth, not from the trigger: unknown.
            Rule::Birthday(_) => None,
            Rule::Earliest(rules) => rules.iter().filter_map(Rule::min_months).min(),
            Rule::Latest(rules) => rules.iter().filter_map(Rule::min_months).max(),
            Rule::If(_, a, b) => a.min_months().into_iter().chain(b.min_months()).min(),
        }
    }
}

fn join(dated: &[Dated], pending: usize) -> String {
    let mut parts: Vec<String> = dated.iter().map(|d| d.explanation.clone()).collect();
    if pending > 0 {
        parts.push(format!("{pending} not yet dated"));
    }
    parts.join("; ")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Number(u32),
    Period(Period),
    Open,
    Close,
    Comma,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("'{w}'"),
            Token::Number(n) => format!("'{n}'"),
            Token::Period(p) => format!("'{p}'"),
            Token::Open => "'('".into(),
            Token::Close => "')'".into(),
            Token::Comma => "','".into(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '-' => return Err("a period must not be negative".into()),
            c if c.is_ascii_digit() => {
                let mut digits = String::new();
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                let n: u32 = digits
                    .parse()
                    .map_err(|_| format!("number {digits} is too large"))?;
                let unit = chars.peek().copied().filter(char::is_ascii_alphabetic);
                tokens.push(match unit {
                    None => Token::Number(n),
                    Some(unit) => {
                        chars.next();
                        let period = match unit {
                            'y' => Period::Years(n),
                            'm' => Period::Months(n),
                            'w' => Period::Weeks(n),
                            'd' => Period::Days(n),
                            other => {
                                return Err(format!(
                                    "unknown period unit '{other}' (use y, m, w or d)"
                                ));
                            }
                        };
                        Token::Period(period)
                    }
                });
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::new();
                while let Some(&w) = chars
                    .peek()
                    .filter(|w| w.is_ascii_alphanumeric() || **w == '_')
                {
                    word.push(w);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self, expected: &str) -> Result<Token, String> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| format!("expected {expected}, found the end of the rule"))?;
        self.at += 1;
        Ok(token)
    }

    fn expect(&mut self, want: Token, expected: &str) -> Result<(), String> {
        let got = self.next(expected)?;
        if got == want {
            Ok(())
        } else {
            Err(format!("expected {expected}, found {}", got.describe()))
        }
    }

    fn word(&mut self, expected: &str) -> Result<String, String> {
        match self.next(expected)? {
            Token::Word(w) => Ok(w),
            other => Err(format!("expected {expected}, found {}", other.describe())),
        }
    }

    fn event(&mut self) -> Result<Event, String> {
        let word = self.word("a trigger event")?;
        Event::from_code(&word).ok_or_else(|| {
            let known: Vec<&str> = Event::ALL.iter().map(|e| e.code()).collect();
            format!(
                "unknown trigger event '{word}' (known: {})",
                known.join(", ")
            )
        })
    }

    fn number(&mut self, what: &str, max: u32) -> Result<u32, String> {
        match self.next(what)? {
            Token::Number(n) if (1..=max).contains(&n) => Ok(n),
            Token::Number(n) => Err(format!("{what} {n} is out of range 1-{max}")),
            other => Err(format!("expected {what}, found {}", other.describe())),
        }
    }

    fn period(&mut self) -> Result<Period, String> {
        match self.next("a period such as 6y")? {
            Token::Period(p) if p.approx_months() <= MAX_MONTHS => Ok(p),
            Token::Period(p) => Err(format!("period {p} is longer than 200 years")),
            other => Err(format!(
                "expected a period such as 6y, found {}",
                other.describe()
            )),
        }
    }

    fn rule(&mut self, depth: usize) -> Result<Rule, String> {
        if depth > MAX_DEPTH {
            return Err(format!("rules nest at most {MAX_DEPTH} deep"));
        }
        let name = self.word("a rule (after, birthday, earliest, latest or if)")?;
        self.expect(Token::Open, &format!("'(' after {name}"))?;
        let rule = match name.as_str() {
            "after" => {
                let event = self.event()?;
                self.expect(Token::Comma, "','")?;
                Rule::After(event, self.period()?)
            }
            "birthday" => Rule::Birthday(self.number("a birthday", MAX_AGE)?),
            "earliest" | "latest" => {
                let mut rules = vec![self.rule(depth + 1)?];
                while self.peek() == Some(&Token::Comma) {
                    self.at += 1;
                    rules.push(self.rule(depth + 1)?);
                }
                if rules.len() < 2 {
                    return Err(format!("{name} needs at least two rules"));
                }
                if name == "earliest" {
                    Rule::Earliest(rules)
                } else {
                    Rule::Latest(rules)
                }
            }
            "if" => {
                let condition = self.condition()?;
                self.expect(Token::Comma, "','")?;
                let then = self.rule(depth + 1)?;
                self.expect(Token::Comma, "','")?;
                let otherwise = self.rule(depth + 1)?;
                Rule::If(condition, Box::new(then), Box::new(otherwise))
            }
            other => {
                return Err(format!(
                    "unknown rule '{other}' (use after, birthday, earliest, latest or if)"
                ));
            }
        };
        self.expect(Token::Close, "')'")?;
        Ok(rule)
    }

    fn condition(&mut self) -> Result<Condition, String> {
        let word = self.word("a condition (died_in_care or aged)")?;
        match word.as_str() {
            "died_in_care" => Ok(Condition::DiedInCare),
            "aged" => {
                self.expect(Token::Open, "'(' after aged")?;
                let event = self.event()?;
                self.expect(Token::Comma, "','")?;
                let age = self.number("an age", MAX_AGE)?;
                self.expect(Token::Close, "')'")?;
                Ok(Condition::Aged(event, age))
            }
            other => Err(format!(
                "unknown condition '{other}' (use died_in_care or aged)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn facts(born: Option<Date>, events: &[(Event, Date)], died_in_care: bool) -> Facts {
        let mut f = Facts {
            born,
            died_in_care,
            ..Facts::default()
        };
        for (e, d) in events {
            f.set(*e, Some(*d));
        }
        f
    }

    #[test]
    fn canonical_text_parses_back_to_the_same_rule() {
        for text in [
            "after(discharged, 20y)",
            "birthday(75)",
            "earliest(birthday(75), after(left_employment, 6y))",
            "latest(after(closed, 3m), after(created, 2w), after(died, 10d))",
            "if(aged(discharged, 17), birthday(26), birthday(25))",
            "if(died_in_care, after(died, 8y), after(discharged, 20y))",
        ] {
            let rule = Rule::parse(text).expect(text);
            assert_eq!(rule.to_string(), text);
            assert_eq!(Rule::parse(&rule.to_string()), Ok(rule));
        }
        // Spacing is free.
        assert_eq!(
            Rule::parse(" after ( closed ,3y ) ").map(|r| r.to_string()),
            Ok("after(closed, 3y)".into())
        );
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let cases = [
            ("", "expected a rule"),
            ("after(discharge, 20y)", "unknown trigger event 'discharge'"),
            ("after(closed, -3y)", "must not be negative"),
            ("after(closed, 3x)", "unknown period unit 'x'"),
            ("after(closed, 3)", "expected a period"),
            ("after(closed, 300y)", "longer than 200 years"),
            ("birthday(0)", "out of range"),
            ("earliest(birthday(75))", "at least two"),
            ("forever(1)", "unknown rule 'forever'"),
            ("after(closed, 3y) extra", "unexpected 'extra'"),
            (
                "if(dead, birthday(1), birthday(2))",
                "unknown condition 'dead'",
            ),
            ("after(closed, 3y", "found the end"),
            ("after(closed; 3y)", "unexpected character ';'"),
        ];
        for (text, want) in cases {
            let err = Rule::parse(text).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
        }
        let deep = format!(
            "{}birthday(1){}",
            "earliest(".repeat(20),
            ", birthday(2))".repeat(20)
        );
        assert!(Rule::parse(&deep).expect_err("deep").contains("nest"));
    }

    #[test]
    fn a_29_february_birthday_falls_on_28_february_in_a_common_year() {
        let born = date!(2008 - 02 - 29);
        // 2033 is common: the 25th birthday is taken as 28 Feb 2033.
        assert_eq!(birthday(born, 25), date!(2033 - 02 - 28));
        // 2032 is a leap year: the 24th birthday is the 29th.
        assert_eq!(birthday(born, 24), date!(2032 - 02 - 29));
        // Age turns on 28 February in a common year, not 1 March.
        assert_eq!(age_on(born, date!(2025 - 02 - 27)), 16);
        assert_eq!(age_on(born, date!(2025 - 02 - 28)), 17);
        assert_eq!(age_on(born, date!(2026 - 02 - 27)), 17);
        let dated = Rule::Birthday(25)
            .evaluate(&facts(Some(born), &[], false))
            .expect("dated");
        assert!(
            dated.explanation.contains("28 February"),
            "{}",
            dated.explanation
        );
    }

    #[test]
    fn earliest_takes_the_dated_operands_and_latest_waits_for_all() {
        let rule = Rule::parse("earliest(after(discharged, 20y), after(died, 8y))").expect("ok");
        let f = facts(None, &[(Event::Died, date!(2024 - 05 - 31))], true);
        assert_eq!(
            rule.evaluate(&f).map(|d| d.date),
            Some(date!(2032 - 05 - 31))
        );
        let rule = Rule::parse("latest(after(discharged, 20y), after(died, 8y))").expect("ok");
        assert_eq!(rule.evaluate(&f), None);
    }

    #[test]
    fn rules_shorter_than_the_limitation_period_are_flagged() {
        assert_eq!(
            Rule::parse("after(closed, 6y)")
                .expect("ok")
                .warnings()
                .len(),
            0
        );
        let w = Rule::parse("after(closed, 3y)").expect("ok").warnings();
        assert!(w[0].contains("36 months"), "{w:?}");
        assert!(
            Rule::parse("birthday(25)")
                .expect("ok")
                .warnings()
                .is_empty()
        );
    }
}
