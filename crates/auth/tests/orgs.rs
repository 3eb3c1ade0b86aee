//! Organisations, members, invitations, teams and relational grants on both backends.

use plinth_auth::login::LoginRequest;
use plinth_auth::orgs::{Authority, NewOrg, OrgConfig, role};
use plinth_auth::users::NewUser;
use plinth_auth::{Auth, AuthConfig, Error, Role};
use plinth_db::Backend;
use plinth_db::migrate::{Migrator as _, table_exists};
use plinth_events::{Context, Events};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, TransactionTrait};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

async fn setup(db: &DatabaseConnection, config: AuthConfig) -> Auth {
    plinth_db::migrate::up(db, &plinth_auth::testing::migrators())
        .await
        .expect("migrate");
    Auth::new(db.clone(), config).await.expect("auth")
}

async fn user(auth: &Auth, name: &str) -> Uuid {
    let new = NewUser {
        username: name.into(),
        email: format!("{name}@Example.com"),
        name: None,
        password: PASSWORD.into(),
        scopes: vec![],
    };
    auth.create_user(&Context::default(), new)
        .await
        .expect("create user")
        .0
        .id
}

fn org(name: &str) -> NewOrg {
    NewOrg {
        name: name.into(),
        ..NewOrg::default()
    }
}

async fn topics(db: &DatabaseConnection, subject_type: &str, id: Uuid) -> Vec<String> {
    let events = Events::new(db.clone())
        .by_subject(subject_type, &id.to_string(), None, 100)
        .await
        .expect("events");
    events.into_iter().rev().map(|e| e.topic).collect()
}

plinth_db::db_test!(
    async fn the_last_owner_cannot_leave_be_removed_or_demoted(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let ctx = Context::default();
        let (alice, bob) = (user(&auth, "alice").await, user(&auth, "bob").await);
        for bad in ["", "Acme", "-acme", "acme-", "ac me", "a/b", "acme:x", &"a".repeat(40)] {
            assert!(matches!(auth.create_org(&ctx, alice, org(bad)).await, Err(Error::Invalid(_))), "{bad:?}");
        }
        let new = NewOrg {
            display_name: Some("Acme Inc.".into()),
            billing_email: Some("Billing@Acme.example".into()),
            ..org("acme")
        };
        let acme = auth.create_org(&ctx, alice, new).await.expect("create");
        assert_eq!((acme.display_name.as_str(), acme.plan.as_str()), ("Acme Inc.", "free"));
        assert_eq!(acme.billing_email.as_deref(), Some("billing@acme.example"));
        assert!(matches!(auth.create_org(&ctx, bob, org("acme")).await, Err(Error::Conflict(_))));
        assert_eq!(auth.get_org("acme").await.expect("get").id, acme.id);
        assert!(matches!(auth.get_org("nope").await, Err(Error::NotFound(_))));
        let mine = auth.list_orgs(alice).await.expect("list");
        assert_eq!((mine.len(), mine[0].org.name.as_str(), mine[0].role.as_str()), (1, "acme", role::OWNER));

        assert!(matches!(auth.add_member(&ctx, "acme", bob, "boss", None, Authority::Granted).await, Err(Error::Invalid(_))));
        let added = auth.add_member(&ctx, "acme", bob, role::MEMBER, Some(alice), Authority::Granted).await.expect("add");
        assert_eq!(added.invited_by, Some(alice));
        assert!(matches!(auth.add_member(&ctx, "acme", bob, role::ADMIN, None, Authority::Granted).await, Err(Error::Conflict(_))));
        assert!(matches!(auth.add_member(&ctx, "acme", Uuid::now_v7(), role::MEMBER, None, Authority::Granted).await, Err(Error::NotFound(_))));

        // Alice is the only owner.
        let last = |r: Result<_, Error>| matches!(r, Err(Error::Conflict(m)) if m.contains("last owner"));
        assert!(last(auth.leave_org(&ctx, "acme", alice).await));
        assert!(last(auth.remove_member(&ctx, "acme", alice, Authority::Granted).await));
        assert!(last(auth.change_member_role(&ctx, "acme", alice, role::ADMIN, Authority::Granted).await.map(|_| ())));
        // With a second owner she may step down and leave.
        auth.change_member_role(&ctx, "acme", bob, role::OWNER, Authority::Granted).await.expect("promote");
        auth.change_member_role(&ctx, "acme", alice, role::BILLING, Authority::Granted).await.expect("demote");
        auth.leave_org(&ctx, "acme", alice).await.expect("leave");
        assert!(auth.list_orgs(alice).await.expect("list").is_empty());
        assert!(matches!(auth.remove_member(&ctx, "acme", alice, Authority::Granted).await, Err(Error::NotFound(_))));
        assert!(last(auth.leave_org(&ctx, "acme", bob).await));
        let members = auth.list_members("acme").await.expect("members");
        assert_eq!(members.iter().map(|m| (m.user_id, m.role.as_str())).collect::<Vec<_>>(), [(bob, role::OWNER)]);

        assert_eq!(
            topics(&db, "org", acme.id).await,
            [
                "org.created",
                "org.member_added",
                "org.member_added",
                "org.role_changed",
                "org.role_changed",
                "org.member_left",
            ],
            "every accepted change is audited, refused ones are not"
        );
    }
);

plinth_db::db_test!(
    async fn members_act_on_their_own_role(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let ctx = Context::default();
        let [owner, admin, plain, newcomer] =
            [user(&auth, "olga").await, user(&auth, "adam").await, user(&auth, "pete").await, user(&auth, "nina").await];
        auth.create_org(&ctx, owner, org("acme")).await.expect("org");
        let by = Authority::Member;
        auth.add_member(&ctx, "acme", admin, role::ADMIN, Some(owner), by(owner)).await.expect("owner adds admin");
        auth.add_member(&ctx, "acme", plain, role::MEMBER, Some(admin), by(admin)).await.expect("admin adds member");
        let refused = |r: Result<(), Error>| matches!(r, Err(Error::NotPermitted { scope, .. }) if scope == "auth:manage-org:acme");
        // A plain member manages nothing; a stranger neither.
        assert!(refused(auth.add_member(&ctx, "acme", newcomer, role::MEMBER, None, by(plain)).await.map(|_| ())));
        assert!(refused(auth.add_member(&ctx, "acme", newcomer, role::MEMBER, None, by(newcomer)).await.map(|_| ())));
        assert!(refused(auth.invite(&ctx, "acme", "x@example.com", role::MEMBER, plain, by(plain)).await.map(|_| ())));
        // An admin cannot touch the owner role, in either direction.
        assert!(refused(auth.add_member(&ctx, "acme", newcomer, role::OWNER, None, by(admin)).await.map(|_| ())));
        assert!(refused(auth.change_member_role(&ctx, "acme", plain, role::OWNER, by(admin)).await.map(|_| ())));
        assert!(refused(auth.change_member_role(&ctx, "acme", owner, role::MEMBER, by(admin)).await.map(|_| ())));
        assert!(refused(auth.remove_member(&ctx, "acme", owner, by(admin)).await));
        assert!(refused(auth.invite(&ctx, "acme", "y@example.com", role::OWNER, admin, by(admin)).await.map(|_| ())));
        // An owner can; demoting the admin removes their powers at once.
        auth.change_member_role(&ctx, "acme", plain, role::OWNER, by(owner)).await.expect("owner promotes");
        auth.change_member_role(&ctx, "acme", admin, role::MEMBER, by(owner)).await.expect("owner demotes");
        assert!(refused(auth.remove_member(&ctx, "acme", plain, by(admin)).await));
        let members = auth.list_members("acme").await.expect("members");
        let roles: Vec<_> = members.iter().map(|m| (m.user_id, m.role.as_str())).collect();
        assert_eq!(roles, [(owner, role::OWNER), (admin, role::MEMBER), (plain, role::OWNER)], "refusals changed nothing");
    }
);

plinth_db::db_test!(
    async fn concurrent_owners_cannot_all_leave(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let ctx = Context::default();
        let owners = [user(&auth, "ann").await, user(&auth, "ben").await, user(&auth, "cid").await];
        for round in 0..3 {
            let name = format!("race-{round}");
            auth.create_org(&ctx, owners[0], org(&name)).await.expect("org");
            for o in &owners[1..] {
                auth.add_member(&ctx, &name, *o, role::OWNER, None, Authority::Granted).await.expect("owner");
            }
            // Each owner leaves or steps down at once: one must stay.
            let (a, b, c) = tokio::join!(
                auth.leave_org(&ctx, &name, owners[0]),
                auth.change_member_role(&ctx, &name, owners[1], role::MEMBER, Authority::Granted),
                auth.remove_member(&ctx, &name, owners[2], Authority::Granted),
            );
            let refused = [a.is_err(), b.is_err(), c.is_err()].iter().filter(|e| **e).count();
            assert_eq!(refused, 1, "round {round}: {a:?} {b:?} {c:?}");
            for err in [a.err(), b.err(), c.err()].into_iter().flatten() {
                assert!(matches!(err, Error::Conflict(_)), "{err:?}");
            }
            let members = auth.list_members(&name).await.expect("members");
            assert_eq!(members.iter().filter(|m| m.role == role::OWNER).count(), 1, "round {round}: {members:?}");
        }
    }
);

plinth_db::db_test!(
    async fn invitations_are_single_use_and_for_the_invited_address(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let ctx = Context::default();
        let (owner, carol, dave) = (user(&auth, "olive").await, user(&auth, "carol").await, user(&auth, "dave").await);
        auth.create_org(&ctx, owner, org("acme")).await.expect("org");
        let (invitation, token) =
            auth.invite(&ctx, "acme", " Carol@EXAMPLE.com", role::ADMIN, owner, Authority::Granted).await.expect("invite");
        assert!(token.starts_with("plin_"));
        assert_eq!(invitation.email, "carol@example.com");
        let stored = plinth_auth::entity::org_invitation::Entity::find_by_id(invitation.id)
            .one(&*db)
            .await
            .expect("q")
            .expect("row");
        assert_eq!(stored.token_hash, plinth_db::secret::hash(&token), "only the hash is stored");
        assert!(!serde_json::to_string(&stored).expect("json").contains(&stored.token_hash), "never serialised");
        assert_eq!(auth.list_invitations("acme").await.expect("list").len(), 1);
        let again = auth.invite(&ctx, "acme", "carol@example.com", role::MEMBER, owner, Authority::Granted).await;
        assert!(matches!(again, Err(Error::Conflict(_))), "one pending invitation per address");
        let member = auth.invite(&ctx, "acme", "olive@example.com", role::MEMBER, owner, Authority::Granted).await;
        assert!(matches!(member, Err(Error::Conflict(_))), "members are not invited");
        assert!(matches!(auth.invite(&ctx, "acme", "x@y.z", "root", owner, Authority::Granted).await, Err(Error::Invalid(_))));

        // Only the invited address may accept, and only once.
        let wrong = auth.accept_invitation(&ctx, &token, dave).await;
        assert!(matches!(&wrong, Err(Error::Invalid(m)) if m.contains("another email")), "{wrong:?}");
        let joined = auth.accept_invitation(&ctx, &token, carol).await.expect("accept");
        assert_eq!((joined.role.as_str(), joined.invited_by), (role::ADMIN, Some(owner)));
        assert!(matches!(auth.accept_invitation(&ctx, &token, carol).await, Err(Error::Invalid(_))), "single use");
        assert!(matches!(auth.decline_invitation(&ctx, &token).await, Err(Error::Invalid(_))));
        assert!(auth.list_invitations("acme").await.expect("list").is_empty());
        for garbage in ["", "plin_", "plin_xyz", "plat_0000"] {
            assert!(matches!(auth.accept_invitation(&ctx, garbage, carol).await, Err(Error::Invalid(_))));
        }

        // Declined invitations cannot be accepted; a new one replaces them.
        let (_, declined) = auth.invite(&ctx, "acme", "dave@example.com", role::MEMBER, owner, Authority::Granted).await.expect("invite");
        auth.decline_invitation(&ctx, &declined).await.expect("decline");
        assert!(matches!(auth.accept_invitation(&ctx, &declined, dave).await, Err(Error::Invalid(_))));
        let (_, fresh) = auth.invite(&ctx, "acme", "dave@example.com", role::MEMBER, owner, Authority::Granted).await.expect("re-invite");
        // Revoked invitations cannot be accepted either.
        let pending = auth.list_invitations("acme").await.expect("list");
        auth.revoke_invitation(&ctx, "acme", pending[0].id, Authority::Granted).await.expect("revoke");
        assert!(matches!(auth.revoke_invitation(&ctx, "acme", pending[0].id, Authority::Granted).await, Err(Error::NotFound(_))));
        assert!(matches!(auth.accept_invitation(&ctx, &fresh, dave).await, Err(Error::Invalid(_))));

        // Expired invitations cannot be accepted.
        let short = AuthConfig { orgs: OrgConfig { invitation_secs: 0 }, ..AuthConfig::default() };
        let expiring = Auth::new(db.conn().clone(), short).await.expect("auth");
        let (_, stale) = expiring.invite(&ctx, "acme", "dave@example.com", role::MEMBER, owner, Authority::Granted).await.expect("invite");
        assert!(matches!(auth.accept_invitation(&ctx, &stale, dave).await, Err(Error::Invalid(_))));
        assert!(auth.list_invitations("acme").await.expect("list").is_empty(), "expired ones are not pending");

        let org_id = auth.get_org("acme").await.expect("org").id;
        let log = topics(&db, "org", org_id).await;
        for topic in ["org.invitation_created", "org.invitation_accepted", "org.invitation_declined", "org.invitation_revoked"] {
            assert!(log.iter().any(|t| t == topic), "{topic} in {log:?}");
        }
    }
);

plinth_db::db_test!(
    async fn teams_hold_members_of_their_organisation(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let ctx = Context::default();
        let (owner, erin, frank) = (user(&auth, "owner").await, user(&auth, "erin").await, user(&auth, "frank").await);
        auth.create_org(&ctx, owner, org("acme")).await.expect("org");
        auth.create_org(&ctx, owner, org("other")).await.expect("org");
        auth.add_member(&ctx, "acme", erin, role::MEMBER, None, Authority::Granted).await.expect("member");
        let design = auth.create_team(&ctx, "acme", "design", Some("Designers".into()), Authority::Granted).await.expect("team");
        auth.create_team(&ctx, "other", "design", None, Authority::Granted).await.expect("same name in another org");
        assert!(matches!(auth.create_team(&ctx, "acme", "design", None, Authority::Granted).await, Err(Error::Conflict(_))));
        assert!(matches!(auth.create_team(&ctx, "acme", "Design", None, Authority::Granted).await, Err(Error::Invalid(_))));
        assert!(matches!(auth.create_team(&ctx, "nope", "design", None, Authority::Granted).await, Err(Error::NotFound(_))));
        assert_eq!(auth.list_teams("acme").await.expect("teams"), std::slice::from_ref(&design));

        let outsider = auth.add_team_member(&ctx, "acme", "design", frank, "member", Authority::Granted).await;
        assert!(matches!(outsider, Err(Error::Invalid(_))), "only organisation members join teams");
        assert!(matches!(auth.add_team_member(&ctx, "acme", "design", erin, "boss", Authority::Granted).await, Err(Error::Invalid(_))));
        auth.add_team_member(&ctx, "acme", "design", erin, "maintainer", Authority::Granted).await.expect("add");
        auth.add_team_member(&ctx, "acme", "design", owner, "member", Authority::Granted).await.expect("add");
        assert!(matches!(auth.add_team_member(&ctx, "acme", "design", erin, "member", Authority::Granted).await, Err(Error::Conflict(_))));
        let members = auth.list_team_members("acme", "design").await.expect("members");
        assert_eq!(members.iter().map(|m| m.user_id).collect::<Vec<_>>(), [erin, owner]);

        auth.remove_team_member(&ctx, "acme", "design", owner, Authority::Granted).await.expect("remove");
        assert!(matches!(auth.remove_team_member(&ctx, "acme", "design", owner, Authority::Granted).await, Err(Error::NotFound(_))));
        // Leaving the organisation leaves its teams.
        auth.leave_org(&ctx, "acme", erin).await.expect("leave");
        assert!(auth.list_team_members("acme", "design").await.expect("members").is_empty());
        auth.delete_team(&ctx, "acme", "design", Authority::Granted).await.expect("delete");
        assert!(matches!(auth.list_team_members("acme", "design").await, Err(Error::NotFound(_))));
        assert_eq!(
            topics(&db, "team", design.id).await,
            ["team.created", "team.member_added", "team.member_added", "team.member_removed", "team.deleted"]
        );
    }
);

plinth_db::db_test!(
    async fn memberships_grant_scopes_through_roles(db) {
        let auth = setup(&db, AuthConfig { role_cache_ms: 0, ..AuthConfig::default() }).await;
        let ctx = Context::default();
        let (owner, gina) = (user(&auth, "owner").await, user(&auth, "gina").await);
        auth.put_role(&ctx, Role { id: "org:acme:admin".into(), scopes: vec!["repos:admin:acme/*".into()] }, "")
            .await
            .expect("role");
        auth.put_role(&ctx, Role { id: "team:acme/*".into(), scopes: vec!["docs:edit:acme/<..>".into()] }, "")
            .await
            .expect("role");
        auth.create_org(&ctx, owner, org("acme")).await.expect("org");
        auth.create_team(&ctx, "acme", "design", None, Authority::Granted).await.expect("team");
        let request = LoginRequest { login: "gina".into(), password: PASSWORD.into(), mfa_code: None, device_id: None };
        let access = auth.login(&ctx, request).await.expect("login").tokens.access_token;
        let scopes = || async { auth.authenticate(&access, None).await.expect("principal").scopes };
        let held = |scopes: &[String], s: &str| scopes.iter().any(|x| x == s);

        assert!(!held(&scopes().await, "repos:admin:acme/*"));
        auth.add_member(&ctx, "acme", gina, role::ADMIN, None, Authority::Granted).await.expect("member");
        let now = scopes().await;
        assert!(held(&now, "assume:org:acme:admin") && held(&now, "repos:admin:acme/*"), "{now:?}");
        auth.add_team_member(&ctx, "acme", "design", gina, "member", Authority::Granted).await.expect("team");
        let now = scopes().await;
        assert!(held(&now, "assume:team:acme/design") && held(&now, "docs:edit:acme/design"), "{now:?}");

        auth.remove_member(&ctx, "acme", gina, Authority::Granted).await.expect("remove");
        let now = scopes().await;
        for gone in ["assume:org:acme:admin", "repos:admin:acme/*", "assume:team:acme/design", "docs:edit:acme/design"] {
            assert!(!held(&now, gone), "{gone} is gone once the membership is: {now:?}");
        }
    }
);

plinth_db::db_test!(
    async fn the_orgs_migration_reverts_and_reapplies(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let owner = user(&auth, "owner").await;
        let backend = Backend::of(&*db).expect("backend");
        let migrators = plinth_auth::testing::migrators();
        let names: Vec<String> = plinth_auth::Migrator.migrations().iter().map(|m| m.name().to_owned()).collect();
        assert_eq!(names[1..], ["m0002_orgs", "m0003_usernames_ignore_case"]);
        // Back to before m0002_orgs (and the migration after it).
        plinth_db::migrate::down(&db, &migrators, "auth", 2).await.expect("down");
        assert!(!table_exists(&*db, backend, "auth_org").await.expect("exists"));
        assert!(table_exists(&*db, backend, "auth_credential").await.expect("exists"));
        auth.get_user(owner).await.expect("users survive");
        plinth_db::migrate::up(&db, &migrators).await.expect("up again");
        auth.create_org(&Context::default(), owner, org("acme")).await.expect("org after re-applying");
    }
);

plinth_db::db_test!(
    async fn team_and_invitation_changes_check_the_role_inside_the_change(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let ctx = Context::default();
        let [owner, admin, plain] = [user(&auth, "olga").await, user(&auth, "adam").await, user(&auth, "pete").await];
        auth.create_org(&ctx, owner, org("acme")).await.expect("org");
        let by = Authority::Member;
        auth.add_member(&ctx, "acme", admin, role::ADMIN, None, by(owner)).await.expect("admin");
        auth.add_member(&ctx, "acme", plain, role::MEMBER, None, by(owner)).await.expect("member");
        // An admin manages teams and invitations on their own role; a plain member does not.
        auth.create_team(&ctx, "acme", "core", None, by(admin)).await.expect("admin creates a team");
        auth.add_team_member(&ctx, "acme", "core", plain, "member", by(admin)).await.expect("admin adds");
        let (invitation, _) = auth.invite(&ctx, "acme", "x@example.com", role::MEMBER, admin, by(admin)).await.expect("invite");
        let refused = |r: Result<(), Error>| matches!(r, Err(Error::NotPermitted { scope, .. }) if scope == "auth:manage-org:acme");
        assert!(refused(auth.create_team(&ctx, "acme", "rogue", None, by(plain)).await.map(|_| ())));
        assert!(refused(auth.revoke_invitation(&ctx, "acme", invitation.id, by(plain)).await));
        // Once the admin is demoted (as if between a route's check and the change), every change is refused.
        auth.change_member_role(&ctx, "acme", admin, role::MEMBER, by(owner)).await.expect("demote");
        assert!(refused(auth.create_team(&ctx, "acme", "later", None, by(admin)).await.map(|_| ())));
        assert!(refused(auth.add_team_member(&ctx, "acme", "core", owner, "member", by(admin)).await.map(|_| ())));
        assert!(refused(auth.remove_team_member(&ctx, "acme", "core", plain, by(admin)).await));
        assert!(refused(auth.delete_team(&ctx, "acme", "core", by(admin)).await));
        assert!(refused(auth.revoke_invitation(&ctx, "acme", invitation.id, by(admin)).await));
        // Nothing changed.
        let teams: Vec<String> = auth.list_teams("acme").await.expect("teams").into_iter().map(|t| t.name).collect();
        assert_eq!(teams, ["core"]);
        let members: Vec<Uuid> = auth.list_team_members("acme", "core").await.expect("members").into_iter().map(|m| m.user_id).collect();
        assert_eq!(members, [plain]);
        assert_eq!(auth.list_invitations("acme").await.expect("invitations").len(), 1);
        // The owner still may.
        auth.revoke_invitation(&ctx, "acme", invitation.id, by(owner)).await.expect("owner revokes");
        auth.delete_team(&ctx, "acme", "core", by(owner)).await.expect("owner deletes");
        assert!(auth.list_teams("acme").await.expect("teams").is_empty());
    }
);

plinth_db::db_test!(
    async fn an_organisation_created_while_its_owner_is_deleted_keeps_a_live_owner(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let ctx = Context::default();
        for round in 0..10 {
            let owner = user(&auth, &format!("owner{round}")).await;
            let name = format!("race{round}");
            let (created, deleted) = tokio::join!(
                auth.create_org(&ctx, owner, org(&name)),
                auth.set_status(&ctx, owner, "deleted", None, None),
            );
            match (created, deleted) {
                (Ok(_), Err(Error::Conflict(_))) | (Err(Error::NotFound(_)), Ok(_)) => {}
                other => panic!("round {round}: the organisation and the deletion both went through, or neither: {other:?}"),
            }
        }
    }
);

/// On PostgreSQL, runs `sql` in a transaction and keeps it open, holding the
/// rows it locked; on SQLite (no row locks) holds nothing.
async fn hold_on_postgres(
    db: &plinth_db::testing::TestDb,
    sql: &str,
) -> Option<sea_orm::DatabaseTransaction> {
    match db.backend() {
        Backend::Postgres => {
            let txn = db.begin().await.expect("begin");
            txn.execute_unprepared(sql).await.expect("hold the rows");
            Some(txn)
        }
        Backend::Sqlite => None,
    }
}

/// How long the racing calls below wait for one another to reach their locks.
const PAUSE: std::time::Duration = std::time::Duration::from_millis(300);

/// Runs `call` after `PAUSE`.
async fn after_pause<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::sleep(PAUSE).await;
    call.await
}

/// Commits `hold` after twice `PAUSE`, once the racing calls are queued.
async fn release_later(hold: Option<sea_orm::DatabaseTransaction>) {
    tokio::time::sleep(PAUSE * 2).await;
    if let Some(hold) = hold {
        hold.commit().await.expect("release");
    }
}

plinth_db::db_test!(
    async fn an_owner_deleted_while_adding_a_member_does_not_deadlock(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let ctx = Context::default();
        let [owner, co_owner, newcomer] = [user(&auth, "olga").await, user(&auth, "otto").await, user(&auth, "nina").await];
        auth.create_org(&ctx, owner, org("acme")).await.expect("org");
        auth.add_member(&ctx, "acme", co_owner, role::OWNER, None, Authority::Granted).await.expect("co-owner");
        // On PostgreSQL, holding the newcomer's row stops the addition after it
        // has locked the organisation and before it checks the adding owner's
        // row, while the owner's deletion locks that row and waits for the
        // organisation: the order in which the two would deadlock.
        let hold = hold_on_postgres(&db, &format!("SELECT id FROM auth_user WHERE id = '{newcomer}' FOR UPDATE")).await;
        let (added, deleted, ()) = tokio::join!(
            auth.add_member(&ctx, "acme", newcomer, role::MEMBER, Some(owner), Authority::Member(owner)),
            after_pause(auth.set_status(&ctx, owner, "deleted", None, None)),
            release_later(hold),
        );
        added.expect("the member is added");
        deleted.expect("the owner is deleted");
    }
);

plinth_db::db_test!(
    async fn an_invitation_revoked_while_it_is_accepted_does_not_deadlock(db) {
        let auth = setup(&db, AuthConfig::default()).await;
        let ctx = Context::default();
        let [owner, guest] = [user(&auth, "olga").await, user(&auth, "gus").await];
        auth.create_org(&ctx, owner, org("acme")).await.expect("org");
        let (invitation, token) =
            auth.invite(&ctx, "acme", "gus@example.com", role::MEMBER, owner, Authority::Member(owner)).await.expect("invite");
        // On PostgreSQL, holding the organisation queues the revocation for it
        // first; the acceptance then queues behind the revocation, in the order
        // in which claiming the invitation before the organisation deadlocked.
        let hold = hold_on_postgres(&db, "UPDATE auth_org SET updated_at = updated_at WHERE name = 'acme'").await;
        let (revoked, accepted, ()) = tokio::join!(
            auth.revoke_invitation(&ctx, "acme", invitation.id, Authority::Member(owner)),
            after_pause(auth.accept_invitation(&ctx, &token, guest)),
            release_later(hold),
        );
        // One of the two wins, whichever takes the organisation first; the other is refused.
        let members = auth.list_members("acme").await.expect("members").len();
        match (revoked, accepted) {
            (Ok(()), Err(Error::Invalid(_))) => assert_eq!(members, 1),
            (Err(Error::NotFound(_)), Ok(_)) => assert_eq!(members, 2),
            other => panic!("revoking and accepting must not both fail or both succeed: {other:?}"),
        }
    }
);

plinth_db::db_test!(
    async fn an_owner_deleted_while_sending_an_invitation_does_not_deadlock(db) {
        let config = AuthConfig {
            orgs: OrgConfig { invitation_secs: 1 },
            ..AuthConfig::default()
        };
        let auth = setup(&db, config).await;
        let ctx = Context::default();
        let [owner, co_owner] = [user(&auth, "olga").await, user(&auth, "otto").await];
        auth.create_org(&ctx, owner, org("acme")).await.expect("org");
        auth.add_member(&ctx, "acme", co_owner, role::OWNER, None, Authority::Granted).await.expect("co-owner");
        let (expired, _) = auth
            .invite(&ctx, "acme", "gus@example.com", role::MEMBER, owner, Authority::Member(owner))
            .await
            .expect("first invitation");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        // On PostgreSQL, holding the expired invitation stops the new one after
        // it has locked the organisation and before it checks the inviting
        // owner's row, while the owner's deletion locks that row and waits for
        // the organisation.
        let hold = hold_on_postgres(
            &db,
            &format!("SELECT id FROM auth_org_invitation WHERE id = '{}' FOR UPDATE", expired.id),
        )
        .await;
        let (invited, deleted, ()) = tokio::join!(
            auth.invite(&ctx, "acme", "gus@example.com", role::MEMBER, owner, Authority::Member(owner)),
            after_pause(auth.set_status(&ctx, owner, "deleted", None, None)),
            release_later(hold),
        );
        invited.expect("the invitation is sent");
        deleted.expect("the owner is deleted");
    }
);
