//! What every handler is given: settings, the catalog and SDK clients, built once at cold start.

use crate::aws::{Aws, Ctx, Member};
use crate::catalog::{Catalog, RuleSpec};
use crate::config::Settings;
use crate::error::Error;
use crate::families::helpers::family::RuleAccess;
use crate::finding::Finding;
use crate::ledger::Ledger;

#[derive(Clone, Debug)]
pub struct Deps {
    pub settings: Settings,
    pub aws: Aws,
    pub catalog: &'static Catalog,
    /// What the handler these dependencies serve does with the rules' resources (its
    /// `RULE_ACCESS`, the same declaration its IAM role is generated from): which member role
    /// [`Deps::ctx`] assumes, and whether the rules' writes are allowed at all. Set once by the
    /// runtime that knows the handler ([`Deps::with_rule_access`]); `None` until then, so a
    /// forgotten setting acts on nothing.
    rule_access: RuleAccess,
}

/// Which member role a handler assumes in another account, and whether it may write there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRole {
    pub name: String,
    pub writes: bool,
}

impl Deps {
    /// Reads the environment and builds the SDK clients; fails naming the bad variable.
    pub async fn from_env() -> Result<Deps, Error> {
        let aws = Aws::load().await;
        let mut settings = Settings::load(|k| std::env::var(k).ok(), &aws.s3()).await?;
        settings.load_signing_keys(aws.sdk_config()).await?;
        Deps::new(settings, aws)
    }

    /// Dependencies from settings already read, with the config's rule parameters laid over the
    /// catalog (once per process).
    pub fn new(settings: Settings, aws: Aws) -> Result<Deps, Error> {
        let catalog: &'static Catalog = match settings.config.rules.values().any(|r| r.params.is_some()) {
            true => Box::leak(Box::new(Catalog::builtin().configured(&settings.config)?)),
            false => Catalog::builtin(),
        };
        Ok(Deps {
            settings,
            aws,
            catalog,
            rule_access: RuleAccess::None,
        })
    }

    /// These dependencies for a handler declaring `access` (`RULE_ACCESS`).
    pub fn with_rule_access(mut self, access: RuleAccess) -> Deps {
        self.rule_access = access;
        self
    }

    pub fn rule_access(&self) -> RuleAccess {
        self.rule_access
    }

    /// The member role this handler assumes, chosen by its declared access and nothing else: a
    /// `Read` handler gets the read role (the rules' reads only) and never the write role; a
    /// handler with no access to the rules' resources gets none (`UndeclaredAction`).
    pub fn member_role(&self) -> Result<MemberRole, Error> {
        let config = &self.settings.config;
        match self.rule_access {
            RuleAccess::None => Err(Error::UndeclaredAction(
                "this handler declares no access to the rules' resources (RULE_ACCESS None): no member role, no rule call".into(),
            )),
            RuleAccess::Read => Ok(MemberRole {
                name: config.member_read_role(),
                writes: false,
            }),
            RuleAccess::ReadWrite => Ok(MemberRole {
                name: config.member_role.clone(),
                writes: true,
            }),
        }
    }

    /// Where `spec`'s family acts for `finding`: its region, and its account (through the member
    /// role when it is not this deployment's), limited to the family's declared actions: its
    /// reads only for a `Read` handler (the read role, a session policy of reads, and any write
    /// call refused before it is sent), reads and writes for the `ReadWrite` one (the write role).
    ///
    /// The config's allow-list (`accounts`) is checked here, before any role is assumed, whatever
    /// the caller checked before: the central roles may assume the member role in any account
    /// (`arn:<partition>:iam::*:role/<member_role>`, so IAM's policy size does not grow with the
    /// organization), and this check is what keeps them to the listed accounts.
    pub async fn ctx(&self, finding: &Finding, spec: &RuleSpec) -> Result<Ctx, Error> {
        if !self
            .settings
            .config
            .account_allowed(&finding.account_id, &self.settings.account_id)
        {
            return Err(Error::AccountNotAllowed(finding.account_id.clone()));
        }
        let role = self.member_role()?;
        // An undo run restores from the ledger's record of the fix it undoes, never from input:
        // loaded here (before the member account is entered), refused when missing.
        let recorded = match &finding.undo {
            Some(_) => self.ledger()?.recorded(finding).await?,
            None => None,
        };
        let ctx = self
            .aws
            .family_ctx(
                finding,
                spec,
                Member {
                    role_name: &role.name,
                    deployment_account: &self.settings.account_id,
                    writes: role.writes,
                },
            )
            .await?;
        Ok(match recorded {
            Some(r) => ctx.with_recorded(r),
            None => ctx,
        })
    }

    /// The ledger of leases, journals and check generations (`STATE_TABLE`).
    pub fn ledger(&self) -> Result<Ledger, Error> {
        let table = self
            .settings
            .state_table
            .clone()
            .ok_or_else(|| Error::ConfigInvalid("STATE_TABLE is not set".into()))?;
        Ok(Ledger {
            client: self.aws.dynamodb(),
            table,
        })
    }

    /// What intake needs to sort a message: the catalog, the region, the config.
    pub fn intake(&self) -> crate::intake::IntakeCtx<'_> {
        crate::intake::IntakeCtx {
            catalog: self.catalog,
            region: &self.settings.region,
            config: &self.settings.config,
        }
    }

    /// The rule a finding is about and a check that this deployment may act in its account.
    pub fn admit(&self, finding: &Finding) -> Result<&'static RuleSpec, Error> {
        if !self
            .settings
            .config
            .account_allowed(&finding.account_id, &self.settings.account_id)
        {
            return Err(Error::AccountNotAllowed(finding.account_id.clone()));
        }
        self.catalog.require(&finding.rule_id)
    }
}

/// Parses a handler's input, naming what is wrong.
pub fn parse_input<T: serde::de::DeserializeOwned>(payload: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(payload).map_err(|e| Error::InvalidInput(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(account: &str) -> Finding {
        serde_json::from_value(serde_json::json!({
            "source": "conformity", "check_id": "ccc:1", "rule_id": "S3-001", "service": "S3",
            "status": "FAILURE", "account_id": account, "region": "us-east-1",
            "reported_region": "us-east-1", "resource": "my-bucket"
        }))
        .unwrap()
    }

    /// Dependencies as `Deps::new` makes them: no rule access until given one.
    fn fresh() -> Deps {
        let config = r#"{"accounts": ["111111111111", "222222222222"], "member_role": "ar-write", "approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}}"#;
        let vars = [
            ("AWS_REGION", "us-east-1"),
            ("AUTO_REMEDIATE_ACCOUNT_ID", "111111111111"),
            ("AUTO_REMEDIATE_CONFIG", config),
        ];
        let settings =
            Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
        let aws = Aws::from_sdk_config(crate::aws::local_sdk_config("http://127.0.0.1:9", "us-east-1"), true);
        Deps::new(settings, aws).unwrap()
    }

    fn deps(access: RuleAccess) -> Deps {
        fresh().with_rule_access(access)
    }

    /// The member role follows the handler's declared access and nothing else: the read role for
    /// `Read`, the write role for `ReadWrite`, none at all (a named error) without access, which
    /// is also what dependencies never given an access have.
    #[tokio::test]
    async fn the_member_role_is_chosen_by_the_handlers_declared_access() {
        let read = deps(RuleAccess::Read).member_role().unwrap();
        assert_eq!(
            read,
            MemberRole {
                name: "ar-write-read".into(),
                writes: false
            }
        );
        let write = deps(RuleAccess::ReadWrite).member_role().unwrap();
        assert_eq!(
            write,
            MemberRole {
                name: "ar-write".into(),
                writes: true
            }
        );
        for d in [deps(RuleAccess::None), fresh()] {
            assert_eq!(d.member_role().unwrap_err().name(), "UndeclaredAction");
            let f = finding("222222222222");
            let spec = d.catalog.require("S3-001").unwrap();
            match d.ctx(&f, spec).await {
                Err(e) => assert_eq!(e.name(), "UndeclaredAction", "{e}"),
                Ok(_) => panic!("a context without rule access"),
            }
        }
    }

    /// A `Read` handler's context holds no write of the family, in the deployment's own account
    /// too (no role assumed there): the write is refused before it is sent. The `ReadWrite`
    /// context sends it (to an endpoint that is not there: a transport error, not a refusal).
    #[tokio::test]
    async fn a_read_handlers_context_refuses_the_familys_writes_before_sending() {
        let f = finding("111111111111");
        let put_acl = |ctx: crate::aws::Ctx| async move {
            ctx.s3()
                .put_bucket_acl()
                .bucket("my-bucket")
                .acl(aws_sdk_s3::types::BucketCannedAcl::Private)
                .send()
                .await
                .map_err(|e| Error::from_sdk("s3:PutBucketAcl", e))
                .unwrap_err()
        };
        let read = deps(RuleAccess::Read);
        let spec = read.catalog.require("S3-001").unwrap();
        assert!(spec.family_impl().writes().contains(&"s3:PutBucketAcl"));
        let err = put_acl(read.ctx(&f, spec).await.unwrap()).await;
        assert_eq!(err.name(), "UndeclaredAction", "{err}");
        assert!(err.to_string().contains("s3:PutBucketAcl"), "{err}");
        let write = deps(RuleAccess::ReadWrite);
        let err = put_acl(write.ctx(&f, spec).await.unwrap()).await;
        assert_ne!(err.name(), "UndeclaredAction", "{err}");
    }

    /// The central roles may assume the member role in any account: the allow-list is what keeps
    /// them out of the others, checked before any role is assumed (no STS call is made here: the
    /// endpoint is unreachable, so reaching STS would fail with another error).
    #[tokio::test]
    async fn no_member_role_is_assumed_in_an_account_not_listed() {
        let config = r#"{"accounts": ["222222222222"], "approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}}"#;
        let vars = [
            ("AWS_REGION", "us-east-1"),
            ("AUTO_REMEDIATE_ACCOUNT_ID", "111111111111"),
            ("AUTO_REMEDIATE_CONFIG", config),
        ];
        let settings =
            Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
        let aws = Aws::from_sdk_config(crate::aws::local_sdk_config("http://127.0.0.1:9", "us-east-1"), true);
        let deps = Deps::new(settings, aws).unwrap();
        let f = finding("333333333333");
        let spec = deps.catalog.require("S3-001").unwrap();
        match deps.ctx(&f, spec).await {
            Err(Error::AccountNotAllowed(a)) => assert_eq!(a, "333333333333"),
            other => panic!("expected AccountNotAllowed, got {:?}", other.map(|_| ())),
        }
    }
}
