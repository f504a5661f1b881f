//! Every database failure the platform classifies, provoked for real against Postgres, maps to
//! the gRPC outcome the issue names: lost sessions, shutdowns, standbys and timeouts are
//! UNAVAILABLE (retry later), serialization failures and deadlocks ABORTED (retry now).

use std::time::Duration;

use dps_platform::ErrorCode;
use dps_platform::ServiceError as _;
use dps_platform::db::{DbError, DbFault, classify};
use dps_test_support::TestDb;
use sqlx::{Connection as _, Executor as _, PgConnection};

async fn scratch() -> (TestDb, String) {
    let db = TestDb::new(&[]).await;
    let url = db.admin_url().expose().clone();
    let mut admin = PgConnection::connect(&url).await.expect("admin");
    admin
        .execute("CREATE TABLE public.scratch (k int PRIMARY KEY, v int NOT NULL)")
        .await
        .expect("table");
    admin
        .execute("INSERT INTO public.scratch VALUES (1, 0), (2, 0)")
        .await
        .expect("rows");
    (db, url)
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.expect("connect")
}

#[tokio::test]
async fn a_serialization_failure_is_aborted() {
    let (_db, url) = scratch().await;
    let (mut a, mut b) = (connect(&url).await, connect(&url).await);
    for c in [&mut a, &mut b] {
        c.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .await
            .expect("begin");
    }
    // Write skew: each reads what the other writes.
    a.execute("SELECT sum(v) FROM public.scratch WHERE k = 1")
        .await
        .expect("read a");
    b.execute("SELECT sum(v) FROM public.scratch WHERE k = 2")
        .await
        .expect("read b");
    a.execute("UPDATE public.scratch SET v = 1 WHERE k = 2")
        .await
        .expect("write a");
    b.execute("UPDATE public.scratch SET v = 1 WHERE k = 1")
        .await
        .expect("write b");
    a.execute("COMMIT").await.expect("first commit wins");
    let err = b.execute("COMMIT").await.expect_err("second must fail");
    assert_eq!(classify(&err), DbFault::Aborted, "{err}");
    assert_eq!(DbError::from(err).code(), ErrorCode::Aborted);
}

#[tokio::test]
async fn a_deadlock_is_aborted() {
    let (_db, url) = scratch().await;
    let (mut a, mut b) = (connect(&url).await, connect(&url).await);
    a.execute("BEGIN").await.expect("begin a");
    b.execute("BEGIN").await.expect("begin b");
    a.execute("UPDATE public.scratch SET v = 1 WHERE k = 1")
        .await
        .expect("a locks 1");
    b.execute("UPDATE public.scratch SET v = 1 WHERE k = 2")
        .await
        .expect("b locks 2");
    let a_waits = tokio::spawn(async move {
        let result = a
            .execute("UPDATE public.scratch SET v = 2 WHERE k = 2")
            .await
            .map(|_| ());
        (a, result)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b_result = b
        .execute("UPDATE public.scratch SET v = 2 WHERE k = 1")
        .await
        .map(|_| ());
    let (_a, a_result) = a_waits.await.expect("task");
    // Postgres picks one victim after deadlock_timeout (1 s).
    let err = a_result
        .err()
        .or(b_result.err())
        .expect("one side is the deadlock victim");
    assert_eq!(classify(&err), DbFault::Aborted, "{err}");
}

#[tokio::test]
async fn statement_timeouts_and_read_only_standbys_are_unavailable() {
    let (_db, url) = scratch().await;
    let mut c = connect(&url).await;
    c.execute("SET statement_timeout = 50").await.expect("set");
    let err = c
        .execute("SELECT pg_sleep(1)")
        .await
        .expect_err("times out");
    assert_eq!(classify(&err), DbFault::Unavailable, "{err}");
    c.execute("RESET statement_timeout").await.expect("reset");
    // What a write to a hot standby returns (25006).
    c.execute("BEGIN READ ONLY").await.expect("begin");
    let err = c
        .execute("INSERT INTO public.scratch VALUES (3, 0)")
        .await
        .expect_err("read-only");
    assert_eq!(classify(&err), DbFault::Unavailable, "{err}");
    assert_eq!(DbError::from(err).code(), ErrorCode::Unavailable);
}

#[tokio::test]
async fn a_session_ended_by_the_server_is_unavailable() {
    let (_db, url) = scratch().await;
    let mut victim = connect(&url).await;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut victim)
        .await
        .expect("pid");
    let mut admin = connect(&url).await;
    let _: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .expect("terminate");
    // 57P01 admin shutdown, or the closed socket behind it.
    let err = victim
        .execute("SELECT 1")
        .await
        .expect_err("session is gone");
    assert_eq!(classify(&err), DbFault::Unavailable, "{err}");
}

#[tokio::test]
async fn named_unique_violations_keep_their_constraint() {
    let (_db, url) = scratch().await;
    let mut c = connect(&url).await;
    let err = c
        .execute("INSERT INTO public.scratch VALUES (1, 0)")
        .await
        .expect_err("duplicate");
    assert_eq!(
        classify(&err),
        DbFault::UniqueViolation(Some("scratch_pkey".into()))
    );
    assert_eq!(
        DbError::from(err).code(),
        ErrorCode::Internal,
        "a constraint the store did not handle is a bug"
    );
}
