//! Relational grants: memberships that expand into scopes for a request.
//!
//! A member of organisation `acme` with role `admin` holds
//! `assume:org:acme:admin`; a member of its team `design` holds
//! `assume:team:acme/design`. These expand through roles like any other
//! scope, so an administrator gives them meaning by defining roles such as
//! `org:acme:admin` (or the parameterised `org:*`). They are read on every
//! authentication, so a membership change takes effect on the next request.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, RelationTrait};
use uuid::Uuid;

use crate::entity::{org, org_member, team, team_member};
use crate::{Auth, Result};

impl Auth {
    /// Scopes a user holds through relations (organisation and team membership).
    pub(crate) async fn relational_scopes(&self, user_id: Uuid) -> Result<Vec<String>> {
        let memberships = org_member::Entity::find()
            .filter(org_member::Column::UserId.eq(user_id))
            .find_also_related(org::Entity)
            .all(&self.db)
            .await?;
        let teams = team::Entity::find()
            .join(sea_orm::JoinType::InnerJoin, team::Relation::Members.def())
            .filter(team_member::Column::UserId.eq(user_id))
            .find_also_related(org::Entity)
            .all(&self.db)
            .await?;
        let orgs = memberships
            .into_iter()
            .filter_map(|(m, org)| org.map(|o| format!("assume:org:{}:{}", o.name, m.role)));
        let teams = teams
            .into_iter()
            .filter_map(|(t, org)| org.map(|o| format!("assume:team:{}/{}", o.name, t.name)));
        Ok(orgs.chain(teams).collect())
    }
}
