//! Dashboard figures (issue 7 §7), counted in SQL: open breaches by time left, reported on time
//! vs late, by kind and by severity, per tenant and for the group.

use dps_types::TenantId;
use time::OffsetDateTime;

use super::{Store, StoreError};

/// Figures for one tenant, or the group when `tenant` is `None`.
#[derive(Debug, Clone, PartialEq, Default, sqlx::FromRow)]
pub struct Figures {
    /// The tenant; `None` for the group total.
    pub tenant: Option<String>,
    /// Incidents recorded.
    pub incidents: i64,
    /// Of which personal-data breaches.
    pub breaches: i64,
    /// Breaches whose clock runs.
    pub open: i64,
    /// Of which past the 72 hours.
    pub open_overdue: i64,
    /// Of which due within 24 hours.
    pub open_due_within_24_hours: i64,
    /// First reports made within 72 hours.
    pub reported_on_time: i64,
    /// First reports made later.
    pub reported_late: i64,
    /// Breaches decided not reportable.
    pub not_reportable: i64,
    /// `(kind code, breaches)`.
    #[sqlx(skip)]
    pub by_kind: Vec<(String, i64)>,
    /// `(severity code or "unassessed", breaches)`.
    #[sqlx(skip)]
    pub by_severity: Vec<(String, i64)>,
}

/// `$1` NULL means every tenant; grouping sets give each tenant and the total in one pass. The
/// due time is awareness + 72 hours, so "overdue at $2" is "aware before $2 - 72 h".
const FIGURES: &str = "\
    SELECT tenant_id AS tenant, count(*) AS incidents, \
           count(*) FILTER (WHERE personal_data_breach) AS breaches, \
           count(*) FILTER (WHERE clock_running) AS open, \
           count(*) FILTER (WHERE clock_running AND aware_at + interval '72 hours' < $2) \
               AS open_overdue, \
           count(*) FILTER (WHERE clock_running AND aware_at + interval '72 hours' >= $2 \
               AND aware_at + interval '72 hours' <= $2 + interval '24 hours') \
               AS open_due_within_24_hours, \
           count(*) FILTER (WHERE first_reported_at IS NOT NULL AND NOT reported_late) \
               AS reported_on_time, \
           count(*) FILTER (WHERE reported_late) AS reported_late, \
           count(*) FILTER (WHERE personal_data_breach AND outcome = 'not_reportable') \
               AS not_reportable \
    FROM breaches.incidents \
    WHERE ($1::text IS NULL OR tenant_id = $1) \
    GROUP BY GROUPING SETS ((tenant_id), ()) \
    ORDER BY tenant_id NULLS LAST";

const BY_KIND: &str = "\
    SELECT tenant_id, kind, count(*) FROM breaches.incidents, unnest(kinds) AS kind \
    WHERE ($1::text IS NULL OR tenant_id = $1) AND personal_data_breach \
    GROUP BY tenant_id, kind ORDER BY tenant_id, kind";

const BY_SEVERITY: &str = "\
    SELECT tenant_id, coalesce(severity, 'unassessed'), count(*) FROM breaches.incidents \
    WHERE ($1::text IS NULL OR tenant_id = $1) AND personal_data_breach \
    GROUP BY tenant_id, 2 ORDER BY tenant_id, 2";

fn add(list: &mut Vec<(String, i64)>, key: &str, n: i64) {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some((_, sum)) => *sum += n,
        None => list.push((key.to_owned(), n)),
    }
}

impl Store {
    /// Figures per tenant and in total, for `tenant` or (with `None`) the whole group. The caller
    /// decides who may see the group: this is the one query without a tenant filter.
    pub async fn figures(
        &self,
        tenant: Option<&TenantId>,
        now: OffsetDateTime,
    ) -> Result<(Vec<Figures>, Figures), StoreError> {
        let tenant = tenant.map(TenantId::as_str);
        let mut rows: Vec<Figures> = sqlx::query_as(FIGURES)
            .bind(tenant)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        // With no rows at all, the grouping set still yields the (empty) total.
        let mut total = rows.pop().unwrap_or_default();
        for (query, pick) in [(BY_KIND, 0), (BY_SEVERITY, 1)] {
            let counts: Vec<(String, String, i64)> = sqlx::query_as(query)
                .bind(tenant)
                .fetch_all(&self.pool)
                .await?;
            for (t, key, n) in counts {
                if let Some(row) = rows.iter_mut().find(|r| r.tenant.as_deref() == Some(&t)) {
                    add(
                        if pick == 0 {
                            &mut row.by_kind
                        } else {
                            &mut row.by_severity
                        },
                        &key,
                        n,
                    );
                }
                add(
                    if pick == 0 {
                        &mut total.by_kind
                    } else {
                        &mut total.by_severity
                    },
                    &key,
                    n,
                );
            }
        }
        Ok((rows, total))
    }
}
