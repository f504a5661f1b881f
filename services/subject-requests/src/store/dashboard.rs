//! Dashboard figures (issue 16 §8), counted in SQL. Days are local to Europe/London, the zone of
//! every tenant today (Jersey keeps the same clock).

use dps_types::TenantId;
use time::Date;

use super::{Store, StoreError};

/// Figures for one tenant, or the group when `tenant` is `None`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Figures {
    /// The tenant; `None` for the group total.
    pub tenant: Option<String>,
    /// `(state code, count)`.
    #[sqlx(skip)]
    pub by_state: Vec<(String, i64)>,
    /// Open, due from today to today + 7.
    pub due_in_7_days: i64,
    /// Open, past due.
    pub overdue: i64,
    /// Median days from receipt to completion.
    pub median_days: Option<f64>,
    /// Completed by their due date, as a percentage of completed.
    pub percent_on_time: Option<f64>,
    /// Completed requests.
    pub completed: i64,
}

/// One query for both scopes: `$1` NULL means every tenant. Grouping sets give each tenant and
/// the total in one pass.
const FIGURES: &str = "\
    SELECT tenant_id AS tenant, \
           count(*) FILTER (WHERE is_open AND due_on BETWEEN $2 AND $2 + 7) AS due_in_7_days, \
           count(*) FILTER (WHERE is_open AND due_on < $2) AS overdue, \
           percentile_cont(0.5) WITHIN GROUP (ORDER BY \
               ((completed_at AT TIME ZONE 'Europe/London')::date \
                - (received_at AT TIME ZONE 'Europe/London')::date)) \
               FILTER (WHERE completed_at IS NOT NULL) AS median_days, \
           (100.0 * count(*) FILTER (WHERE \
                (completed_at AT TIME ZONE 'Europe/London')::date <= due_on) \
               / nullif(count(*) FILTER (WHERE completed_at IS NOT NULL), 0))::float8 \
               AS percent_on_time, \
           count(*) FILTER (WHERE completed_at IS NOT NULL) AS completed \
    FROM subject_requests.subject_requests \
    WHERE ($1::text IS NULL OR tenant_id = $1) \
    GROUP BY GROUPING SETS ((tenant_id), ()) \
    ORDER BY tenant_id NULLS LAST";

const BY_STATE: &str = "\
    SELECT tenant_id, state, count(*) FROM subject_requests.subject_requests \
    WHERE ($1::text IS NULL OR tenant_id = $1) \
    GROUP BY tenant_id, state ORDER BY tenant_id, state";

impl Store {
    /// Figures per tenant and in total, for `tenant` or (with `None`) the whole group. The caller
    /// decides who may see the group: this is the one query without a tenant filter.
    pub async fn figures(
        &self,
        tenant: Option<&TenantId>,
        today: Date,
    ) -> Result<(Vec<Figures>, Figures), StoreError> {
        let tenant = tenant.map(TenantId::as_str);
        let mut rows: Vec<Figures> = sqlx::query_as(FIGURES)
            .bind(tenant)
            .bind(today)
            .fetch_all(&self.pool)
            .await?;
        let states: Vec<(String, String, i64)> = sqlx::query_as(BY_STATE)
            .bind(tenant)
            .fetch_all(&self.pool)
            .await?;
        // With no rows at all, the grouping set still yields the (empty) total.
        let mut total = rows.pop().unwrap_or(Figures {
            tenant: None,
            by_state: Vec::new(),
            due_in_7_days: 0,
            overdue: 0,
            median_days: None,
            percent_on_time: None,
            completed: 0,
        });
        for (t, state, n) in states {
            if let Some(row) = rows.iter_mut().find(|r| r.tenant.as_deref() == Some(&t)) {
                row.by_state.push((state.clone(), n));
            }
            match total.by_state.iter_mut().find(|(s, _)| *s == state) {
                Some((_, sum)) => *sum += n,
                None => total.by_state.push((state, n)),
            }
        }
        Ok((rows, total))
    }
}
