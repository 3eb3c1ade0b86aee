//! SeaORM entities of the file store, one per table.

pub mod attachment;
pub mod file;
pub mod group;
pub mod upload;

/// Sets `updated_at` on every save unless the caller set it, for the
/// entities that carry one.
macro_rules! touch_updated_at {
    () => {
        #[async_trait::async_trait]
        impl ActiveModelBehavior for ActiveModel {
            async fn before_save<C>(mut self, _db: &C, _insert: bool) -> Result<Self, DbErr>
            where
                C: ConnectionTrait,
            {
                if !self.updated_at.is_set() {
                    self.updated_at = sea_orm::Set(time::OffsetDateTime::now_utc());
                }
                Ok(self)
            }
        }
    };
}
pub(crate) use touch_updated_at;
