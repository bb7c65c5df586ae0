//! What every handler is given: settings, the catalog and SDK clients, built once at cold start.

use crate::aws::{Aws, Ctx, Member};
use crate::catalog::{Catalog, RuleSpec};
use crate::config::Settings;
use crate::error::Error;
use crate::finding::Finding;
use crate::ledger::Ledger;

#[derive(Clone, Debug)]
pub struct Deps {
    pub settings: Settings,
    pub aws: Aws,
    pub catalog: &'static Catalog,
}

impl Deps {
    /// Reads the environment and builds the SDK clients; fails naming the bad variable.
    pub async fn from_env() -> Result<Deps, Error> {
        let mut settings = Settings::from_env()?;
        let aws = Aws::load().await;
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
        Ok(Deps { settings, aws, catalog })
    }

    /// Where `spec`'s family acts for `finding`: its region, and its account (through the member
    /// role when it is not this deployment's), limited to the family's declared actions.
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
                    role_name: &self.settings.config.member_role,
                    deployment_account: &self.settings.account_id,
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
