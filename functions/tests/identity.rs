//! Identity across regions, on moto's Cognito: an account made by the clinic in the
//! primary region's pool is copied by the identity sync into the recovery region's pool;
//! its user signs in there with a code sent to their e-mail and a password of their own
//! (no administrator), gets the same Medi-Advice id and role in their token, and the API
//! answers them as it does in the primary. A second run changes nothing; an account
//! disabled at home is disabled in its copy.

use std::sync::{Arc, Mutex};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_cognitoidentityprovider::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cognitoidentityprovider::error::BoxError;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, ExplicitAuthFlowsType, MessageActionType, SchemaAttributeType,
    UsernameAttributeType, VerifiedAttributeType,
};
use base64::Engine;
use medidocs_aws::cognito::{CognitoDirectory, ROLE_GROUPS};
use medidocs_aws::{DynamoMetadataStore, clients};
use medidocs_core::identity::sync;
use medidocs_core::model::{DocumentRecord, SourceRef, Status};
use medidocs_core::ports::{AccessStore, MetadataStore};
use medidocs_functions::Config;
use medidocs_testkit::moto::Moto;
use serde_json::{Map, Value};

use common::{call, event};

mod common;

/// A user pool as the template makes it: sign-in by e-mail, the two custom attributes,
/// a group per role, and a client that signs in with a password.
async fn pool(cognito: &Client) -> (String, String) {
    let custom = |name: &str| {
        SchemaAttributeType::builder()
            .name(name)
            .attribute_data_type(aws_sdk_cognitoidentityprovider::types::AttributeDataType::String)
            .mutable(false)
            .build()
    };
    let pool = cognito
        .create_user_pool()
        .pool_name("medidocs-users")
        .username_attributes(UsernameAttributeType::Email)
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .schema(custom("medidocs_id"))
        .schema(custom("origin"))
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    for group in ROLE_GROUPS {
        cognito
            .create_group()
            .user_pool_id(&pool)
            .group_name(*group)
            .send()
            .await
            .unwrap();
    }
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("medidocs-web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    (pool, client)
}

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}

/// An account made by the clinic, as an administrator does it at home.
async fn clinic_account(cognito: &Client, pool: &str, email: &str, id: Option<&str>, role: &str) {
    let mut attrs = vec![attr("email", email), attr("email_verified", "true")];
    if let Some(id) = id {
        attrs.push(attr("custom:medidocs_id", id));
    }
    cognito
        .admin_create_user()
        .user_pool_id(pool)
        .username(email)
        .set_user_attributes(Some(attrs))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    cognito
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(email)
        .password("Home-Password-2026")
        .permanent(true)
        .send()
        .await
        .unwrap();
    cognito
        .admin_add_user_to_group()
        .user_pool_id(pool)
        .username(email)
        .group_name(role)
        .send()
        .await
        .unwrap();
}

/// The ID token's claims after a password sign-in.
async fn sign_in(
    cognito: &Client,
    client: &str,
    email: &str,
    password: &str,
) -> Map<String, Value> {
    let auth = password_auth(cognito, client, email, password)
        .await
        .unwrap_or_else(|e| panic!("{email} signs in: {e:?}"));
    let token = auth.authentication_result.unwrap().id_token.unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Whether a password sign-in is refused.
async fn refused(cognito: &Client, client: &str, email: &str, password: &str) -> bool {
    password_auth(cognito, client, email, password)
        .await
        .is_err()
}

/// A password sign-in.
async fn password_auth(
    cognito: &Client,
    client: &str,
    email: &str,
    password: &str,
) -> Result<
    aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput,
    aws_sdk_cognitoidentityprovider::error::SdkError<
        aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthError,
    >,
> {
    cognito
        .initiate_auth()
        .client_id(client)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", email)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
}

/// The claims as API Gateway's JWT authorizer passes them on: strings, a list as `[a b]`.
fn gateway_claims(claims: &Map<String, Value>) -> Value {
    let strings: Map<String, Value> = claims
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "iat" | "exp"))
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i.as_str().unwrap_or_default().to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            (k.clone(), Value::String(s))
        })
        .collect();
    Value::Object(strings)
}

/// Captures the confirmation code moto hands back in a header (AWS sends it by e-mail).
#[derive(Debug, Clone, Default)]
struct MailedCode(Arc<Mutex<Option<String>>>);

impl Intercept for MailedCode {
    fn name(&self) -> &'static str {
        "MailedCode"
    }
    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(code) = context
            .response()
            .headers()
            .get("x-moto-forgot-password-confirmation-code")
        {
            *self.0.lock().unwrap() = Some(code.to_string());
        }
        Ok(())
    }
}

/// What a user does at a failover, with no administrator: "Forgot your password?", the
/// code from their e-mail, a password of their own.
async fn first_sign_in_after_failover(cognito: &Client, client: &str, email: &str) -> String {
    let mailed = MailedCode::default();
    cognito
        .forgot_password()
        .client_id(client)
        .username(email)
        .customize()
        .interceptor(mailed.clone())
        .send()
        .await
        .unwrap();
    let code = mailed.0.lock().unwrap().clone().expect("a code was sent");
    // A wrong code is refused.
    let wrong = cognito
        .confirm_forgot_password()
        .client_id(client)
        .username(email)
        .confirmation_code("moto-confirmation-code:000000")
        .password("Recovery-Password-2026")
        .send()
        .await;
    assert!(wrong.is_err(), "a wrong code must be refused");
    cognito
        .confirm_forgot_password()
        .client_id(client)
        .username(email)
        .confirmation_code(code)
        .password("Recovery-Password-2026")
        .send()
        .await
        .unwrap();
    "Recovery-Password-2026".to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_made_in_the_primary_signs_in_to_the_recovery_region_after_the_sync() {
    let moto = Moto::start().unwrap();
    let eu_sdk = clients::compatible_server(moto.endpoint(), "eu-west-1").await;
    let us_sdk = clients::compatible_server(moto.endpoint(), "us-east-1").await;
    let (eu, us) = (clients::cognito(&eu_sdk), clients::cognito(&us_sdk));
    let ((eu_pool, eu_client), (us_pool, us_client)) = (pool(&eu).await, pool(&us).await);

    // At home, in the primary: a doctor with her Medi-Advice id, and a patient made
    // before ids were set (the records know her by her sub).
    let (doctor, patient) = ("aoife.breathnach@clinic.example.ie", "nora.fahy@example.ie");
    clinic_account(&eu, &eu_pool, doctor, Some("d-aoife"), "doctor").await;
    clinic_account(&eu, &eu_pool, patient, None, "patient").await;
    let home_doctor = sign_in(&eu, &eu_client, doctor, "Home-Password-2026").await;
    let home_patient = sign_in(&eu, &eu_client, patient, "Home-Password-2026").await;
    let patient_id = home_patient["sub"].as_str().unwrap().to_string();
    assert!(home_patient.get("custom:medidocs_id").is_none());

    // Nobody can sign in to the recovery pool yet.
    assert!(refused(&us, &us_client, doctor, "Home-Password-2026").await);

    // The sync, as the primary's function runs it.
    let home = CognitoDirectory::new(eu.clone(), &eu_pool, 0.0);
    let other = CognitoDirectory::new(us.clone(), &us_pool, 0.0);
    let report = sync("eu-west-1", &home, &other, 100, &|| true)
        .await
        .unwrap();
    assert_eq!(report.applied.get("create"), Some(&2), "{report:?}");
    assert!(
        report.failed.is_empty() && report.conflicts.is_empty(),
        "{report:?}"
    );
    // The copy's home password is not known there: the old password does not sign in.
    assert!(refused(&us, &us_client, doctor, "Home-Password-2026").await);

    // Failover: each signs in to the recovery pool by themselves.
    let password = first_sign_in_after_failover(&us, &us_client, doctor).await;
    let away_doctor = sign_in(&us, &us_client, doctor, &password).await;
    let password = first_sign_in_after_failover(&us, &us_client, patient).await;
    let away_patient = sign_in(&us, &us_client, patient, &password).await;
    // Another pool, another sub; the same Medi-Advice id and role.
    assert_ne!(away_doctor["sub"], home_doctor["sub"]);
    assert_eq!(away_doctor["custom:medidocs_id"], "d-aoife");
    assert_eq!(away_patient["custom:medidocs_id"], patient_id.as_str());
    assert_eq!(away_doctor["cognito:groups"], home_doctor["cognito:groups"]);
    assert_eq!(
        away_patient["cognito:groups"],
        home_patient["cognito:groups"]
    );

    // The same answers from the API: the patient's documents, to her and to her doctor.
    let table = format!(
        "identity-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let store = DynamoMetadataStore::new(clients::dynamodb(&eu_sdk), &table);
    store.create_table().await.unwrap();
    let mut doc = DocumentRecord::new(
        "0123456789abcdef0123456789abcdef".into(),
        patient_id.clone(),
        SourceRef {
            bucket: "uploads".into(),
            key: format!("uploads/{patient_id}/x/original"),
            version: "v1".into(),
        },
        "0".repeat(64),
        1000,
        "2026-11-28T03:00:00.000Z".into(),
    );
    doc.status = Status::Ready;
    store.create_document(&doc).await.unwrap();
    store
        .add_care_team_member(&patient_id, "d-aoife")
        .await
        .unwrap();
    let config = Config::from_lookup(|k| {
        Some(match k {
            "UPLOAD_BUCKET" => "uploads".into(),
            "ARTEFACT_BUCKET" => "artefacts".into(),
            "TABLE_NAME" => table.clone(),
            "KMS_KEY_ID" => "alias/medidocs".into(),
            "AWS_REGION" => "eu-west-1".into(),
            _ => return None,
        })
    })
    .unwrap();
    let sfn = clients::sfn(&eu_sdk);
    let orchestrator = Arc::new(medidocs_aws::ExecutionStarter::new(
        sfn,
        "arn:aws:states:eu-west-1:123456789012:stateMachine:medidocs",
    ));
    let app = medidocs_functions::api::router(
        &config,
        clients::s3(&eu_sdk, true),
        clients::dynamodb(&eu_sdk),
        orchestrator,
    );
    let path = format!("/v1/patients/{patient_id}/documents");
    for (home, away) in [(&home_doctor, &away_doctor), (&home_patient, &away_patient)] {
        let (status, _, at_home) =
            call(&app, event("GET", &path, Some(gateway_claims(home)), None)).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&at_home));
        let (status, _, after_failover) =
            call(&app, event("GET", &path, Some(gateway_claims(away)), None)).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&after_failover));
        assert_eq!(at_home, after_failover);
        assert!(String::from_utf8_lossy(&at_home).contains(&doc.id));
    }

    // A second run has nothing to do.
    let again = sync("eu-west-1", &home, &other, 100, &|| true)
        .await
        .unwrap();
    assert!(again.applied.is_empty() && again.deferred == 0, "{again:?}");
    assert_eq!(again.other_accounts, 2);

    // The doctor leaves the clinic: disabled at home, then in her copy.
    eu.admin_disable_user()
        .user_pool_id(&eu_pool)
        .username(doctor)
        .send()
        .await
        .unwrap();
    let report = sync("eu-west-1", &home, &other, 100, &|| true)
        .await
        .unwrap();
    assert_eq!(report.applied.get("disable"), Some(&1), "{report:?}");
    let copy = us
        .admin_get_user()
        .user_pool_id(&us_pool)
        .username(doctor)
        .send()
        .await
        .unwrap();
    assert!(!copy.enabled);
}
