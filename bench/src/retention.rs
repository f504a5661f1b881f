//! `dps-bench retention`: the retention service's bulk paths (issue 8's figures), direct to
//! `dps-retention` served as its own process on a throw-away Postgres.
//!
//! 1. **Bulk registration**: `--records N` (1,000,000) records sent through the client-streaming
//!    `BulkRegisterRecords`, `--message-records N` (1,000) per stream message, all in one stream
//!    (one transaction) unless `--per-stream N` splits them into sequential streams of N.
//!    Target ≤ 60 s.
//! 2. **Sweep**: `RunSweep` over them. Target ≤ 2 s. A second sweep straight after (nothing
//!    left to raise) shows the cost of finding alone.
//! 3. **Re-dating**: `UpdateRecordClass` of `adult-health-record`, which holds exactly `--redate N`
//!    (100,000) records, from the group's 20 years after discharge to the NHS code's 8 years.
//!    Target ≤ 10 s. A third sweep then raises the reviews the change made due.
//!
//! The data is a care group's backlog registered from its systems on the day it adopts the
//! service, so the first sweep finds everything already past its date: records spread over the
//! default schedule's 16 classes (adult records `--redate`; of the rest, timesheets 22 %,
//! mandatory training 20 %, other training 13 %, mental health 11 %, long-term illness 7 %,
//! incidents 6 %, employee records 6 %, children's records 4 %, unsuccessful applicants 4 %,
//! occupational health, complaints, SARs, serious incidents, SAR appeals and policies the rest),
//! in the order a migration would send them (classes interleaved); persons (patients, children,
//! staff, applicants, with birth dates), eight holding systems, and trigger dates over the past
//! 2–25 years depending on the class: most records discharged or closed, some people died (some
//! in our care), half the staff left; records whose trigger has not happened (still in care,
//! still employed, open cases, policies) undated. Nearly a quarter of the records are due on the
//! day (23.5 % at the default sizes; the run prints the share): a backlog, as on the first sweep
//! after adoption; once through it, a scheduled sweep raises only what fell due since the last.
//! 50 patients are under legal hold, so the sweep must skip their records.
//!
//! Every step checks its answer against SQL computed independently of the service: every record
//! registered, class by class; the review date of every record of a class with a fixed-period
//! rule equals its trigger date plus the period (Postgres interval arithmetic); the sweep raises
//! exactly the records SQL finds due and unheld and leaves the held ones; re-dating touches every
//! record of the class and leaves each on the new rule's date. A fast wrong answer fails the run.
//!
//! CPU time is reported per process (service, Postgres cluster, this generator) and for the whole
//! machine, so a run on a busy machine shows it. Statistics are taken (`ANALYZE`) after the
//! registration, as autovacuum would within a minute; `--analyze 0` skips that. Options:
//! `--records N`, `--redate N`, `--message-records N`, `--per-stream N`, `--analyze 0|1`,
//! `--json PATH`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dps_proto::retention::v1 as pb;
use pb::retention_service_client::RetentionServiceClient;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use tonic::transport::Channel;

use crate::harness::{self, Caller, Cpu, Flags, Rng, Stack, TENANT};

/// The class re-dated in step 3, and its new rule (the NHS code's 8 years for adult records).
const REDATED_CLASS: &str = "adult-health-record";
const NEW_RULE: &str = "if(died_in_care, after(died, 8y), after(discharged, 8y))";

/// The other classes and their weights among the records that are not adult records.
const MIX: &[(&str, u64)] = &[
    ("timesheet", 200),
    ("mandatory-training-record", 180),
    ("training-record", 120),
    ("mental-health-record", 100),
    ("long-term-illness-record", 60),
    ("incident", 50),
    ("employee-record", 50),
    ("child-health-record", 40),
    ("unsuccessful-applicant", 40),
    ("occupational-health-record", 20),
    ("complaint", 20),
    ("subject-access-request", 15),
    ("serious-incident", 5),
    ("subject-access-request-appeal", 2),
    ("policy", 1),
];

/// Patients held for litigation; their records must survive the sweep.
const HELD_PERSONS: u64 = 50;

const TARGET_BULK_S: f64 = 60.0;
const TARGET_SWEEP_S: f64 = 2.0;
const TARGET_REDATE_S: f64 = 10.0;

struct Options {
    records: u64,
    redate: u64,
    message_records: u64,
    per_stream: u64,
    analyze: bool,
    json: Option<PathBuf>,
}

impl Options {
    fn parse(mut flags: Flags) -> Result<Self, String> {
        let records = flags.number("records", 1_000_000)?.max(1);
        let o = Self {
            records,
            redate: flags.number("redate", 100_000)?.min(records),
            message_records: flags.number("message-records", 1000)?.max(1),
            per_stream: flags.number("per-stream", 0)?,
            analyze: flags.number("analyze", 1)? != 0,
            json: flags.path("json"),
        };
        flags.finish()?;
        Ok(o)
    }
}

fn client(channel: &Channel) -> RetentionServiceClient<Channel> {
    RetentionServiceClient::new(channel.clone())
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20)
}

fn service_call<T>(message: T) -> tonic::Request<T> {
    harness::with_caller(message, "service")
}

fn dpo_call<T>(message: T) -> tonic::Request<T> {
    harness::with_caller(message, "dpo")
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One measured step: wall time, CPU used by whom, and the service's peak memory during it.
struct Step {
    name: &'static str,
    records: u64,
    wall: Duration,
    cpu: Cpu,
    peak_rss_mib: f64,
    target_s: Option<f64>,
}

impl Step {
    fn met(&self) -> Option<bool> {
        self.target_s.map(|t| self.wall.as_secs_f64() <= t)
    }

    fn row(&self) -> String {
        let (target, met) = match (self.target_s, self.met()) {
            (Some(t), Some(m)) => (format!("≤ {t} s"), if m { "met" } else { "MISSED" }),
            _ => ("—".into(), "—"),
        };
        format!(
            "| {} | {} | {:.2} | {target} | {met} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
            self.name,
            self.records,
            self.wall.as_secs_f64(),
            self.cpu.service,
            self.cpu.postgres,
            self.cpu.bench,
            self.cpu.others(),
            self.peak_rss_mib,
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "step": self.name,
            "records": self.records,
            "wall_s": self.wall.as_secs_f64(),
            "target_s": self.target_s,
            "met": self.met(),
            "cpu": self.cpu.json(),
            "service_peak_rss_mib": self.peak_rss_mib,
        })
    }
}

/// Times `work`, sampling the CPU of every party before and after and the service's memory
/// every 50 ms.
async fn measure<F, T>(
    pids: (u32, u32),
    name: &'static str,
    records: u64,
    target_s: Option<f64>,
    work: F,
) -> Result<(T, Step), String>
where
    F: Future<Output = Result<T, String>>,
{
    let (service_pid, postmaster) = pids;
    let done = Arc::new(AtomicBool::new(false));
    let peak_kib = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak_kib) = (done.clone(), peak_kib.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Some(mib) = harness::rss_mib_of(service_pid) {
                    peak_kib.fetch_max((mib * 1024.0) as u64, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let before = Cpu::sample(service_pid, postmaster);
    let started = Instant::now();
    let outcome = work.await;
    let wall = started.elapsed();
    let cpu = Cpu::sample(service_pid, postmaster).since(&before);
    done.store(true, Ordering::Relaxed);
    sampler.await.map_err(err)?;
    let step = Step {
        name,
        records,
        wall,
        cpu,
        peak_rss_mib: peak_kib.load(Ordering::Relaxed) as f64 / 1024.0,
        target_s,
    };
    eprintln!(
        "{name}: {:.2} s (CPU s: service {:.1}, Postgres {:.1}, bench {:.1}, others {:.1})",
        wall.as_secs_f64(),
        cpu.service,
        cpu.postgres,
        cpu.bench,
        cpu.others()
    );
    Ok((outcome?, step))
}

pub async fn run(flags: Flags) -> Result<(), String> {
    let o = Options::parse(flags)?;
    let stack = Stack::start().await?;
    stack.migrate("dps-retention").await?;
    let service = stack.serve("dps-retention").await?;
    let service_pid = service.child.id().ok_or("service exited")?;
    // The checks' own connection: they anti-join the review table, which in `--analyze 0` runs
    // has no statistics, and a nested loop over it (what the planner then picks) takes minutes.
    let options: sqlx::postgres::PgConnectOptions = stack.owner_url().parse().map_err(err)?;
    let db = PgPool::connect_with(options.options([("enable_nestloop", "off")]))
        .await
        .map_err(err)?;
    let postmaster = harness::postmaster_pid(&db).await?;
    let pids = (service_pid, postmaster);
    let idle_rss = service.rss_mib();
    let channel = service.channel()?;
    let today = OffsetDateTime::now_utc().date();
    let plan = Arc::new(Plan::new(o.records, o.redate, today));
    let caller = Caller::sealed(TENANT, "service");

    // The tenant's first call seeds the default schedule; every class in the mix must exist.
    let schedule = client(&channel)
        .get_schedule(service_call(pb::GetScheduleRequest {}))
        .await
        .map_err(err)?
        .into_inner();
    for (code, _) in &plan.classes {
        if !schedule.record_classes.iter().any(|c| c.code == *code) {
            return Err(format!("the default schedule has no class {code}"));
        }
    }

    // What generating costs alone, since the generator shares the cores with what it measures.
    let started = Instant::now();
    let generated: usize = (0..o.records)
        .map(|i| plan.record(i).external_id.len())
        .sum();
    let generate_s = started.elapsed().as_secs_f64();
    eprintln!(
        "generating {} records alone takes {generate_s:.2} s ({generated} id bytes)",
        o.records
    );

    // 1. Bulk registration.
    let per_stream = if o.per_stream == 0 {
        o.records
    } else {
        o.per_stream
    };
    let streams = o.records.div_ceil(per_stream);
    eprintln!(
        "registering {} records in {streams} stream(s) of up to {per_stream}, {} per message",
        o.records, o.message_records
    );
    let ((registered, already), bulk) = measure(
        pids,
        "BulkRegisterRecords",
        o.records,
        Some(TARGET_BULK_S),
        register(
            &channel,
            &caller,
            plan.clone(),
            per_stream,
            o.message_records,
        ),
    )
    .await?;
    check_registered(&db, &plan, registered, already).await?;

    // 2. Sweep, with some patients under legal hold.
    let held = place_holds(&channel, &plan).await?;
    if o.analyze {
        // Statistics as autovacuum gives a table a minute after a load; a service's tables have
        // them in production. `--analyze 0` measures the steps on a table without them.
        sqlx::query("ANALYZE retention.records, retention.legal_holds")
            .execute(&db)
            .await
            .map_err(err)?;
    }
    let due = due_unheld(&db, today, &held).await?;
    let held_due = due.1;
    let (raised, sweep) = measure(pids, "RunSweep", o.records, Some(TARGET_SWEEP_S), async {
        run_sweep(&channel, &caller).await
    })
    .await?;
    check_sweep(&db, today, &held, due.0, raised, due.0).await?;
    let (raised_again, sweep_again) = measure(
        pids,
        "RunSweep again (nothing new due)",
        o.records,
        None,
        async { run_sweep(&channel, &caller).await },
    )
    .await?;
    check_sweep(&db, today, &held, 0, raised_again, due.0).await?;

    // 3. Re-dating after a schedule change.
    let class = schedule
        .record_classes
        .iter()
        .find(|c| c.code == REDATED_CLASS)
        .cloned()
        .ok_or("no adult-health-record class")?;
    let (response, redate) = measure(
        pids,
        "UpdateRecordClass (re-date)",
        o.redate,
        Some(TARGET_REDATE_S),
        async {
            client(&channel)
                .update_record_class(dpo_call(pb::UpdateRecordClassRequest {
                    record_class: Some(pb::RecordClass {
                        rule: NEW_RULE.into(),
                        note: "Aligned with the NHS Records Management Code: 8 years after care \
                               ends."
                            .into(),
                        ..class
                    }),
                    reason: "The board adopted the NHS code's 8 years for adult records.".into(),
                }))
                .await
                .map(tonic::Response::into_inner)
                .map_err(err)
        },
    )
    .await?;
    check_redated(&db, &response, o.redate).await?;
    let newly_due = due_unheld(&db, today, &held).await?.0;
    let (raised_after, sweep_after) =
        measure(pids, "RunSweep after the change", o.records, None, async {
            run_sweep(&channel, &caller).await
        })
        .await?;
    check_sweep(
        &db,
        today,
        &held,
        newly_due,
        raised_after,
        due.0 + newly_due,
    )
    .await?;
    let peak_rss = service.rss_mib();
    service.stop().await;
    db.close().await;

    let steps = [&bulk, &sweep, &sweep_again, &redate, &sweep_after];
    let summary = serde_json::json!({
        "scenario": "retention registry, sweep and re-dating, direct to dps-retention",
        "records": o.records,
        "records_per_message": o.message_records,
        "records_per_stream": per_stream,
        "streams": streams,
        "generate_alone_s": generate_s,
        "due_at_first_sweep": due.0,
        "due_but_held": held_due,
        "due_after_change": newly_due,
        "steps": steps.iter().map(|s| s.json()).collect::<Vec<_>>(),
        "service_rss_mib": { "idle": idle_rss, "end": peak_rss },
        "machine": harness::machine(),
    });
    println!(
        "| step | records | wall s | target | | service CPU s | Postgres CPU s | bench CPU s | \
         others' CPU s | service peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for step in steps {
        println!("{}", step.row());
    }
    println!(
        "\n{} records in {streams} stream(s); due at the first sweep {} ({:.1} %), {held_due} \
         more due but held; {newly_due} made due by the change. Generating alone: {generate_s:.2} \
         s. Machine: {}.",
        o.records,
        due.0,
        100.0 * due.0 as f64 / o.records as f64,
        harness::machine(),
    );
    harness::write_json(o.json.as_deref(), &summary)?;
    drop(stack);
    Ok(())
}

/// Sends the records `0..plan.total` in streams of `per_stream`, one after the other.
pub(crate) async fn register(
    channel: &Channel,
    caller: &Caller,
    plan: Arc<Plan>,
    per_stream: u64,
    per_message: u64,
) -> Result<(u64, u64), String> {
    let (mut registered, mut already) = (0, 0);
    let mut start = 0;
    while start < plan.total {
        let end = (start + per_stream).min(plan.total);
        let plan = plan.clone();
        let messages = (start..end)
            .step_by(per_message as usize)
            .map(move |first| pb::BulkRegisterRecordsRequest {
                records: (first..(first + per_message).min(end))
                    .map(|i| plan.record(i))
                    .collect(),
            });
        let response = client(channel)
            .bulk_register_records(caller.request(tokio_stream::iter(messages)))
            .await
            .map_err(|e| format!("BulkRegisterRecords of records {start}..{end}: {e}"))?
            .into_inner();
        registered += u64::try_from(response.registered).map_err(err)?;
        already += u64::try_from(response.already_registered).map_err(err)?;
        start = end;
    }
    Ok((registered, already))
}

pub(crate) async fn run_sweep(channel: &Channel, caller: &Caller) -> Result<u64, String> {
    let response = client(channel)
        .run_sweep(caller.request(pb::RunSweepRequest {}))
        .await
        .map_err(err)?;
    u64::try_from(response.into_inner().reviews_raised).map_err(err)
}

/// Places a hold on `HELD_PERSONS` patients spread over the population; returns their ids.
async fn place_holds(channel: &Channel, plan: &Plan) -> Result<Vec<String>, String> {
    let mut held = Vec::new();
    for k in 0..HELD_PERSONS {
        let person = format!("pt-{}", k * (plan.patients / HELD_PERSONS).max(1));
        client(channel)
            .place_legal_hold(dpo_call(pb::PlaceLegalHoldRequest {
                legal_hold: Some(pb::LegalHold {
                    person_id: person.clone(),
                    reason: "Clinical negligence claim: keep every record of the claimant".into(),
                    authority: "NHS Resolution, claim notified by the claimant's solicitors".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            }))
            .await
            .map_err(err)?;
        held.push(person);
    }
    Ok(held)
}

/// Active records due on `today` and not under review (no open review): (not held, held), by
/// SQL and the list of held persons, not by the service's own hold function.
async fn due_unheld(db: &PgPool, today: Date, held: &[String]) -> Result<(u64, u64), String> {
    let (unheld, held): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE person_id IS NULL OR person_id <> ALL($3)), \
                count(*) FILTER (WHERE person_id = ANY($3)) \
         FROM retention.records r \
         WHERE tenant_id = $1 AND state = 'active' AND review_on <= $2 \
           AND NOT EXISTS (SELECT 1 FROM retention.disposal_reviews d \
               WHERE d.tenant_id = r.tenant_id AND d.record_id = r.record_id \
                 AND d.state = 'open')",
    )
    .bind(TENANT)
    .bind(today)
    .bind(held)
    .fetch_one(db)
    .await
    .map_err(err)?;
    Ok((unheld as u64, held as u64))
}

/// Every record registered, class by class, and dated by its class's rule.
async fn check_registered(
    db: &PgPool,
    plan: &Plan,
    registered: u64,
    already: u64,
) -> Result<(), String> {
    if registered != plan.total || already != 0 {
        return Err(format!(
            "BulkRegisterRecords said {registered} registered, {already} already; sent {}",
            plan.total
        ));
    }
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.code, count(*) FROM retention.records r \
         JOIN retention.record_classes c USING (tenant_id, record_class_id) \
         WHERE r.tenant_id = $1 GROUP BY c.code",
    )
    .bind(TENANT)
    .fetch_all(db)
    .await
    .map_err(err)?;
    for (code, expected) in &plan.classes {
        let stored = counts
            .iter()
            .find(|(c, _)| c == code)
            .map_or(0, |(_, n)| *n as u64);
        if stored != *expected {
            return Err(format!("{code}: sent {expected} records, {stored} stored"));
        }
    }
    let stored: u64 = counts.iter().map(|(_, n)| *n as u64).sum();
    if stored != plan.total {
        return Err(format!("sent {} records, {stored} stored", plan.total));
    }
    // The review date of every record of a fixed-period class, worked out by Postgres.
    let wrong: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM retention.records r \
         JOIN retention.record_classes c USING (tenant_id, record_class_id) \
         WHERE r.tenant_id = $1 AND r.review_on IS DISTINCT FROM (CASE c.code \
             WHEN 'adult-health-record' THEN CASE WHEN r.died_in_care \
                 THEN r.died_on + interval '8 years' ELSE r.discharged_on + interval '20 years' END \
             WHEN 'timesheet' THEN r.created_on + interval '2 years' \
             WHEN 'mandatory-training-record' THEN r.training_completed_on + interval '10 years' \
             WHEN 'training-record' THEN r.training_completed_on + interval '6 years' \
             WHEN 'incident' THEN r.closed_on + interval '10 years' \
             WHEN 'serious-incident' THEN r.closed_on + interval '20 years' \
             WHEN 'complaint' THEN r.closed_on + interval '10 years' \
             WHEN 'subject-access-request' THEN r.closed_on + interval '3 years' \
             WHEN 'subject-access-request-appeal' THEN r.appeal_closed_on + interval '6 years' \
             WHEN 'unsuccessful-applicant' THEN r.recruitment_decided_on + interval '3 months' \
             WHEN 'policy' THEN NULL \
             ELSE r.review_on END)::date",
    )
    .bind(TENANT)
    .fetch_one(db)
    .await
    .map_err(err)?;
    if wrong != 0 {
        return Err(format!(
            "{wrong} records carry a review date other than their rule's"
        ));
    }
    Ok(())
}

/// The sweep raised exactly `expected` reviews, every due unheld record is now under review
/// (`total` so far, each with one open review) and no held record is.
async fn check_sweep(
    db: &PgPool,
    today: Date,
    held: &[String],
    expected: u64,
    raised: u64,
    total: u64,
) -> Result<(), String> {
    if raised != expected {
        return Err(format!(
            "the sweep raised {raised} reviews; SQL finds {expected} records due"
        ));
    }
    let (left_due, _) = due_unheld(db, today, held).await?;
    // Under review = an open review on an active record (the record row itself stays active).
    let (under_review, open, held_under_review): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(DISTINCT d.record_id) FROM retention.disposal_reviews d \
                 JOIN retention.records r USING (tenant_id, record_id) \
                 WHERE d.tenant_id = $1 AND d.state = 'open' AND r.state = 'active'), \
                (SELECT count(*) FROM retention.disposal_reviews d \
                 JOIN retention.records r USING (tenant_id, record_id) \
                 WHERE d.tenant_id = $1 AND d.state = 'open' AND r.state = 'active' \
                   AND r.review_on <= $2), \
                (SELECT count(*) FROM retention.records r \
                 WHERE r.tenant_id = $1 AND r.person_id = ANY($3) \
                   AND (r.state <> 'active' OR EXISTS (SELECT 1 FROM retention.disposal_reviews d \
                        WHERE d.tenant_id = r.tenant_id AND d.record_id = r.record_id \
                          AND d.state = 'open')))",
    )
    .bind(TENANT)
    .bind(today)
    .bind(held)
    .fetch_one(db)
    .await
    .map_err(err)?;
    if left_due != 0 || under_review as u64 != total || open as u64 != total {
        return Err(format!(
            "after the sweep: {left_due} due records left active, {under_review} under review \
             and {open} open reviews (expected {total})"
        ));
    }
    if held_under_review != 0 {
        return Err(format!(
            "{held_under_review} records of held persons were offered"
        ));
    }
    Ok(())
}

/// Re-dating touched every record of the class, each now on the new rule's date.
async fn check_redated(
    db: &PgPool,
    response: &pb::UpdateRecordClassResponse,
    expected: u64,
) -> Result<(), String> {
    if response.redated_records as u64 != expected {
        return Err(format!(
            "UpdateRecordClass re-dated {} records; the class has {expected}",
            response.redated_records
        ));
    }
    let version = response
        .record_class
        .as_ref()
        .map_or(0, |c| c.schedule_version);
    let (wrong, withdrawn): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM retention.records r \
                 JOIN retention.record_classes c USING (tenant_id, record_class_id) \
                 WHERE r.tenant_id = $1 AND c.code = $2 AND (r.schedule_version <> $3 \
                    OR r.review_on IS DISTINCT FROM (CASE WHEN r.died_in_care \
                       THEN r.died_on + interval '8 years' \
                       ELSE r.discharged_on + interval '8 years' END)::date)), \
                (SELECT count(*) FROM retention.disposal_reviews \
                 WHERE tenant_id = $1 AND state = 'withdrawn')",
    )
    .bind(TENANT)
    .bind(REDATED_CLASS)
    .bind(version)
    .fetch_one(db)
    .await
    .map_err(err)?;
    if wrong != 0 || withdrawn != 0 {
        return Err(format!(
            "after re-dating: {wrong} records not on the new rule's date under version \
             {version}; {withdrawn} reviews withdrawn (none should be: dates only moved earlier)"
        ));
    }
    Ok(())
}

/// How many records of each class, and how to make record `i`: the same every run. Record `i`
/// gets its class from a fixed permutation of `0..total` laid over the classes' counts, so the
/// counts are exact and the classes interleaved, and any range of records can be made alone.
pub(crate) struct Plan {
    pub(crate) total: u64,
    classes: Vec<(&'static str, u64)>,
    /// Each class's first position in the permuted order.
    starts: Vec<u64>,
    /// A multiplier coprime with `total`: `i ↦ i × stride mod total` permutes `0..total`.
    stride: u64,
    today: Date,
    patients: u64,
    children: u64,
    staff: u64,
}

const YEAR: u64 = 365;

impl Plan {
    pub(crate) fn new(total: u64, redate: u64, today: Date) -> Self {
        let rest = total - redate;
        let weight: u64 = MIX.iter().map(|(_, w)| w).sum();
        let mut classes = vec![(REDATED_CLASS, redate)];
        classes.extend(MIX.iter().map(|(code, w)| (*code, rest * w / weight)));
        let assigned: u64 = classes.iter().map(|(_, n)| n).sum();
        classes[1].1 += total - assigned;
        let mut starts = Vec::with_capacity(classes.len());
        let mut at = 0;
        for (_, n) in &classes {
            starts.push(at);
            at += n;
        }
        let mut stride = 1_000_003 % total.max(2);
        while gcd(stride, total) != 1 {
            stride += 1;
        }
        Self {
            total,
            classes,
            starts,
            stride,
            today,
            patients: (total / 4).max(HELD_PERSONS),
            children: (total / 40).max(1),
            staff: (total / 50).max(1),
        }
    }

    fn class_of(&self, i: u64) -> &'static str {
        let position = ((u128::from(i) * u128::from(self.stride)) % u128::from(self.total)) as u64;
        let k = self.starts.partition_point(|&s| s <= position) - 1;
        self.classes[k].0
    }

    fn ago(&self, days: u64) -> Date {
        self.today - time::Duration::days(days as i64)
    }

    /// `days` after `date`, but not after today.
    fn after(&self, date: Date, days: u64) -> Date {
        (date + time::Duration::days(days as i64)).min(self.today)
    }

    /// A person's birth date, the same for every record about them: `min_age` to `min_age +
    /// span` years before today.
    fn born(&self, person: u64, min_age: u64, span: u64) -> Date {
        let mut rng = Rng(person.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        rng.next();
        self.ago(min_age * YEAR + rng.below(span * YEAR))
    }

    fn record(&self, i: u64) -> pb::Record {
        let code = self.class_of(i);
        let mut rng = Rng((i.wrapping_mul(0xD129_0B4C_A3F6_7E25) ^ 0x5851_F42D_4C95_7F2D) | 1);
        rng.next();
        let mut r = pb::Record {
            record_class_code: code.into(),
            external_id: format!("{code}/{i}"),
            ..Default::default()
        };
        let text = |d: Date| d.to_string();
        match code {
            "adult-health-record" | "mental-health-record" | "long-term-illness-record" => {
                let person = rng.below(self.patients);
                let born = self.born(person, 20, 75);
                let created = self
                    .ago(rng.below(25 * YEAR))
                    .max(born + time::Duration::days(18 * 365));
                r.person_id = format!("pt-{person}");
                r.system = if code == "mental-health-record" {
                    "mental-health-epr"
                } else {
                    "care-records"
                }
                .into();
                r.birth_date = text(born);
                r.create_date = text(created);
                if percent(80, &mut rng) {
                    let discharged = self.after(created, rng.below(3 * YEAR));
                    r.discharge_date = text(discharged);
                    if percent(15, &mut rng) {
                        r.died_in_care = percent(60, &mut rng);
                        let died = if r.died_in_care {
                            discharged
                        } else {
                            self.after(discharged, rng.below(5 * YEAR))
                        };
                        r.death_date = text(died);
                    }
                }
            }
            "child-health-record" => {
                let person = rng.below(self.children);
                let born = self.born(person, 0, 30);
                let created = self.after(born, rng.below(17 * YEAR));
                r.person_id = format!("ch-{person}");
                r.system = "care-records".into();
                r.birth_date = text(born);
                r.create_date = text(created);
                if percent(70, &mut rng) {
                    r.discharge_date = text(self.after(created, rng.below(3 * YEAR)));
                }
            }
            "occupational-health-record" | "employee-record" => {
                let person = rng.below(self.staff);
                let born = self.born(person, 18, 50);
                let created = self
                    .ago(rng.below(20 * YEAR))
                    .max(born + time::Duration::days(16 * 365));
                r.person_id = format!("st-{person}");
                r.system = if code == "employee-record" {
                    "hr"
                } else {
                    "occupational-health"
                }
                .into();
                r.birth_date = text(born);
                r.create_date = text(created);
                if percent(50, &mut rng) {
                    r.leave_date = text(self.after(created, rng.below(15 * YEAR)));
                }
            }
            "mandatory-training-record" | "training-record" | "timesheet" => {
                let years = match code {
                    "mandatory-training-record" => 12,
                    "training-record" => 8,
                    _ => 3,
                };
                let created = self.ago(rng.below(years * YEAR));
                r.person_id = format!("st-{}", rng.below(self.staff));
                r.system = if code == "timesheet" {
                    "payroll"
                } else {
                    "learning"
                }
                .into();
                r.create_date = text(created);
                if code != "timesheet" {
                    r.training_complete_date = text(self.after(created, rng.below(30)));
                }
            }
            "incident" | "serious-incident" | "complaint" | "subject-access-request" => {
                let years = match code {
                    "subject-access-request" => 5,
                    "complaint" => 12,
                    _ => 25,
                };
                let created = self.ago(rng.below(years * YEAR));
                if code != "incident" || percent(50, &mut rng) {
                    r.person_id = format!("pt-{}", rng.below(self.patients));
                }
                r.system = if code.contains("incident") {
                    "incidents"
                } else {
                    "complaints"
                }
                .into();
                r.create_date = text(created);
                if percent(95, &mut rng) {
                    r.close_date = text(self.after(created, 30 + rng.below(150)));
                }
            }
            "subject-access-request-appeal" => {
                let created = self.ago(rng.below(8 * YEAR));
                let closed = self.after(created, 30);
                r.person_id = format!("pt-{}", rng.below(self.patients));
                r.system = "complaints".into();
                r.create_date = text(created);
                r.close_date = text(closed);
                if percent(90, &mut rng) {
                    r.appeal_close_date = text(self.after(closed, rng.below(180)));
                }
            }
            "unsuccessful-applicant" => {
                let created = self.ago(rng.below(2 * YEAR));
                r.person_id = format!("ap-{i}");
                r.system = "recruitment".into();
                r.create_date = text(created);
                r.recruitment_decision_date = text(self.after(created, rng.below(60)));
            }
            _ => {
                // Policies: kept for the life of the organisation, so undated.
                r.system = "policies".into();
                r.create_date = text(self.ago(rng.below(20 * YEAR)));
            }
        }
        r
    }
}

/// True `p` times in a hundred.
fn percent(p: u64, rng: &mut Rng) -> bool {
    rng.below(100) < p
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}
