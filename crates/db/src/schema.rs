//! Column and index builders for migrations, so every crate declares the
//! portable types the same way: strings, `timestamptz`, JSON (`jsonb` on
//! PostgreSQL), booleans defaulting to false, UUID keys.

use sea_orm::sea_query::{ColumnDef, Index, IndexCreateStatement};

/// A non-null string column.
pub fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).string().not_null().to_owned()
}

/// A nullable string column.
pub fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).string().null().to_owned()
}

/// A non-null timestamp with time zone.
pub fn at(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

/// A nullable timestamp with time zone.
pub fn at_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().null().to_owned()
}

/// A non-null JSON column (`jsonb` on PostgreSQL).
pub fn json(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).json_binary().not_null().to_owned()
}

/// A non-null boolean defaulting to false.
pub fn flag(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}

/// A non-null 32-bit integer.
pub fn int(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).integer().not_null().to_owned()
}

/// A non-null 64-bit integer.
pub fn big(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

/// The `id` UUID primary key.
pub fn uuid_pk() -> ColumnDef {
    ColumnDef::new("id").uuid().not_null().primary_key().to_owned()
}

/// An index (unique or not) named `name` on `table`'s `cols`, in order.
pub fn index(name: &str, table: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    if unique {
        idx.unique();
    }
    for c in cols {
        idx.col(*c);
    }
    idx
}
