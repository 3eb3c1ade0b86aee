//! Set-based SQL shared by every operation: transactions, row locks, bulk
//! inserts and bulk updates, with the PostgreSQL and portable paths side by side.

use plinth_db::Backend;
use sea_orm::sea_query::{ColumnType, Expr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    IdenStatic, Iterable, ModelTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::Result;
use crate::entity::task;

/// Rows per statement for portable multi-row statements: well under SQLite's
/// 32,766 and PostgreSQL's 65,535 bind parameters for the widest table.
const ROWS_PER_STATEMENT: usize = 500;
/// Ids per `IN (…)` list.
pub(crate) const IDS_PER_STATEMENT: usize = 5_000;

/// Begins a write transaction ([`plinth_db::begin_write`]).
pub(crate) async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    Ok(plinth_db::begin_write(db).await?)
}

/// A raw statement for the connection's backend, written with `$n` placeholders.
///
/// On SQLite the placeholders become anonymous `?` with the values in order
/// of appearance: SQLite looks numbered and named parameters up by a linear
/// scan whenever a driver asks for their names, which makes binding
/// thousands of them quadratic.
pub(crate) fn stmt(conn: &impl ConnectionTrait, sql: impl Into<String>, values: Vec<Value>) -> Statement {
    let backend = conn.get_database_backend();
    let sql = sql.into();
    if backend == DbBackend::Sqlite {
        let (sql, values) = anonymous(&sql, &values);
        return Statement::from_sql_and_values(backend, sql, values);
    }
    Statement::from_sql_and_values(backend, sql, values)
}

/// `$n` placeholders rewritten as `?`, with `values` repeated and reordered to match.
fn anonymous(sql: &str, values: &[Value]) -> (String, Vec<Value>) {
    let mut out = String::with_capacity(sql.len());
    let mut ordered = Vec::with_capacity(values.len());
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) {
            let mut n = 0usize;
            while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                n = n * 10 + (*d as usize - '0' as usize);
                chars.next();
            }
            out.push('?');
            ordered.push(values.get(n.wrapping_sub(1)).cloned().unwrap_or(Value::Int(None)));
        } else {
            out.push(c);
        }
    }
    (out, ordered)
}

/// Splits `ids` into chunks small enough for one `IN (…)` list.
pub(crate) fn id_chunks(ids: &[Uuid]) -> std::slice::Chunks<'_, Uuid> {
    ids.chunks(IDS_PER_STATEMENT)
}

/// `col IN (ids)`. On PostgreSQL the ids travel as one JSON parameter, so
/// the statement text, and the plan prepared for it, is the same whatever
/// their number; they are collected into an array first, so the planner
/// looks each up in the index instead of joining against an estimate.
/// SQLite gets a plain list.
pub(crate) fn in_ids<C: ColumnTrait>(conn: &impl ConnectionTrait, col: C, ids: &[Uuid]) -> Expr {
    if conn.get_database_backend() == DbBackend::Postgres {
        let list: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        Expr::cust_with_values(
            format!(
                "{} = ANY(ARRAY(SELECT value::uuid FROM jsonb_array_elements_text($1)))",
                col.as_str()
            ),
            [serde_json::Value::from(list)],
        )
    } else {
        col.is_in(ids.iter().copied())
    }
}

/// Reads the tasks with these ids, oldest id first, locking them for update
/// on PostgreSQL (SQLite's immediate transaction already holds the write lock).
pub(crate) async fn lock_tasks(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<task::Model>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut tasks = Vec::with_capacity(ids.len());
    for chunk in id_chunks(&ids) {
        let found = task::Entity::find()
            .filter(in_ids(conn, task::Column::Id, chunk))
            .order_by_asc(task::Column::Id)
            .lock_exclusive()
            .all(conn)
            .await?;
        tasks.extend(found);
    }
    Ok(tasks)
}

/// Locks the task `id` for the rest of the transaction; not found when it does not exist.
pub(crate) async fn lock_task(conn: &impl ConnectionTrait, id: Uuid) -> Result<task::Model> {
    lock_tasks(conn, &[id])
        .await?
        .pop()
        .ok_or_else(|| crate::Error::NotFound(format!("task {id}")))
}

/// Inserts `models`, skipping rows that violate a unique constraint, and
/// returns the primary keys (first key column, a uuid) of the rows inserted.
///
/// PostgreSQL gets every row in one statement through `jsonb_to_recordset`;
/// the portable path sends multi-row `VALUES` lists in chunks.
pub(crate) async fn insert<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    models: &[E::Model],
) -> Result<Vec<Uuid>>
where
    E::Model: Sync,
{
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let table = E::default().table_name().to_owned();
    let columns: Vec<E::Column> = E::Column::iter().collect();
    let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
    let key = names[0];
    let mut inserted = Vec::with_capacity(models.len());
    match Backend::of(conn)? {
        Backend::Postgres => {
            // `jsonb_to_recordset` reads a JSON `null` as SQL NULL; a
            // required JSON column stores it as the JSON value `null`.
            let selected: Vec<String> = columns
                .iter()
                .map(|c| {
                    let def = c.def();
                    if pg_type(def.get_column_type()) == "jsonb" && !def.is_null() {
                        format!("COALESCE({0}, 'null'::jsonb)", c.as_str())
                    } else {
                        c.as_str().to_owned()
                    }
                })
                .collect();
            let sql = format!(
                "INSERT INTO {table} ({}) SELECT {} FROM jsonb_to_recordset($1::jsonb) AS x({}) \
                 ON CONFLICT DO NOTHING RETURNING {key}",
                names.join(", "),
                selected.join(", "),
                recordset(&columns),
            );
            let rows = conn
                .query_all_raw(stmt(conn, sql, vec![records(models, &columns)?]))
                .await?;
            for row in rows {
                inserted.push(row.try_get::<Uuid>("", key)?);
            }
        }
        Backend::Sqlite => {
            for chunk in models.chunks(ROWS_PER_STATEMENT) {
                let mut values = Vec::with_capacity(chunk.len() * columns.len());
                let mut tuples = Vec::with_capacity(chunk.len());
                for model in chunk {
                    let start = values.len();
                    values.extend(columns.iter().map(|c| model.get(*c)));
                    tuples.push(placeholders(start, columns.len()));
                }
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES {} ON CONFLICT DO NOTHING RETURNING {key}",
                    names.join(", "),
                    tuples.join(", ")
                );
                for row in conn.query_all_raw(stmt(conn, sql, values)).await? {
                    inserted.push(row.try_get::<Uuid>("", key)?);
                }
            }
        }
    }
    Ok(inserted)
}

/// The columns [`write_tasks`] stores: everything a state change can touch.
const MUTABLE: [task::Column; 16] = [
    task::Column::State,
    task::Column::RunId,
    task::Column::RunReason,
    task::Column::ScheduledAt,
    task::Column::RunAt,
    task::Column::Attempts,
    task::Column::RetriesLeft,
    task::Column::WorkerGroup,
    task::Column::WorkerId,
    task::Column::TakenUntil,
    task::Column::StartedAt,
    task::Column::ResolvedAt,
    task::Column::Reason,
    task::Column::Error,
    task::Column::Result,
    task::Column::UpdatedAt,
];

/// Stores the state of changed tasks: on PostgreSQL one
/// `UPDATE … FROM jsonb_to_recordset(…)`, elsewhere one
/// `UPDATE … FROM (VALUES …)` per chunk.
pub(crate) async fn write_tasks(conn: &impl ConnectionTrait, tasks: &[task::Model]) -> Result<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    if Backend::of(conn)? == Backend::Postgres {
        let mut columns = vec![task::Column::Id];
        columns.extend(MUTABLE);
        let sets: Vec<String> = MUTABLE
            .iter()
            .map(|c| format!("{0} = v.{0}", c.as_str()))
            .collect();
        let sql = format!(
            "UPDATE queue_task SET {} FROM jsonb_to_recordset($1::jsonb) AS v({}) WHERE queue_task.id = v.id",
            sets.join(", "),
            recordset(&columns)
        );
        conn.execute_raw(stmt(conn, sql, vec![records(tasks, &columns)?]))
            .await?;
        return Ok(());
    }
    let width = MUTABLE.len() + 1;
    let sets: Vec<String> = MUTABLE
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = v.column{}", c.as_str(), i + 2))
        .collect();
    for chunk in tasks.chunks(ROWS_PER_STATEMENT) {
        let mut values = Vec::with_capacity(chunk.len() * width);
        let mut tuples = Vec::with_capacity(chunk.len());
        for task in chunk {
            let start = values.len();
            values.push(task.id.into());
            values.extend(MUTABLE.iter().map(|c| task.get(*c)));
            tuples.push(placeholders(start, width));
        }
        let sql = format!(
            "UPDATE queue_task SET {} FROM (VALUES {}) AS v WHERE queue_task.id = v.column1",
            sets.join(", "),
            tuples.join(", ")
        );
        conn.execute_raw(stmt(conn, sql, values)).await?;
    }
    Ok(())
}

/// The row definition of `jsonb_to_recordset` for `columns`: `name type, …`.
fn recordset<C: ColumnTrait>(columns: &[C]) -> String {
    let typed: Vec<String> = columns
        .iter()
        .map(|c| format!("{} {}", c.as_str(), pg_type(c.def().get_column_type())))
        .collect();
    typed.join(", ")
}

/// `models` as one JSON array of objects holding `columns`, written
/// straight to text for a `$n::jsonb` parameter; SQL NULLs are left out,
/// which `jsonb_to_recordset` reads back as NULL.
fn records<M: ModelTrait>(models: &[M], columns: &[<M::Entity as EntityTrait>::Column]) -> Result<Value> {
    let text = serde_json::to_string(&Records { models, columns })
        .map_err(|e| sea_orm::DbErr::Custom(format!("encoding rows: {e}")))?;
    Ok(text.into())
}

/// Rows serialised as a JSON array of objects, without building a JSON tree first.
struct Records<'a, M: ModelTrait> {
    models: &'a [M],
    columns: &'a [<M::Entity as EntityTrait>::Column],
}

impl<M: ModelTrait> serde::Serialize for Records<'_, M> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut rows = serializer.serialize_seq(Some(self.models.len()))?;
        for model in self.models {
            rows.serialize_element(&Fields(self.columns.iter().filter_map(|c| {
                let value = json_of(model.get(*c));
                (!value.is_null()).then_some((c.as_str(), value))
            })))?;
        }
        rows.end()
    }
}

/// One row's non-null fields, serialised as a JSON object.
struct Fields<I>(I);

impl<I: Iterator<Item = (&'static str, serde_json::Value)> + Clone> serde::Serialize for Fields<I> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.clone())
    }
}

/// `($start+1, …, $start+n)`.
fn placeholders(start: usize, n: usize) -> String {
    let list: Vec<String> = (start + 1..=start + n).map(|i| format!("${i}")).collect();
    format!("({})", list.join(", "))
}

/// The PostgreSQL type of a column in a `jsonb_to_recordset` row definition.
fn pg_type(ty: &ColumnType) -> &'static str {
    match ty {
        ColumnType::Uuid => "uuid",
        ColumnType::Integer => "integer",
        ColumnType::BigInteger => "bigint",
        ColumnType::Boolean => "boolean",
        ColumnType::Json | ColumnType::JsonBinary => "jsonb",
        ColumnType::TimestampWithTimeZone => "timestamptz",
        _ => "text",
    }
}

/// A bound value as JSON for `jsonb_to_recordset`: times as RFC 3339, SQL NULL as `null`.
fn json_of(value: Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Bool(v) => v.map_or(J::Null, J::Bool),
        Value::Int(v) => v.map_or(J::Null, J::from),
        Value::BigInt(v) => v.map_or(J::Null, J::from),
        Value::String(v) => v.map_or(J::Null, J::String),
        Value::Uuid(v) => v.map_or(J::Null, |u| J::String(u.to_string())),
        Value::Json(v) => v.map_or(J::Null, |j| *j),
        Value::TimeDateTimeWithTimeZone(v) => {
            v.and_then(|t| t.format(&Rfc3339).ok()).map_or(J::Null, J::String)
        }
        other => sea_orm::sea_query::value::sea_value_to_json_value(&other),
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Value;

    #[test]
    fn placeholders_become_anonymous_for_sqlite() {
        let values: Vec<Value> = vec![1.into(), 2.into(), 3.into()];
        let (sql, ordered) = super::anonymous("a = $3 AND b IN ($1, $3) AND c = '$x' AND d = $2", &values);
        assert_eq!(sql, "a = ? AND b IN (?, ?) AND c = '$x' AND d = ?");
        let expect: Vec<Value> = vec![3.into(), 1.into(), 3.into(), 2.into()];
        assert_eq!(ordered, expect);
    }
}
