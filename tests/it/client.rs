//! The library client against the sandbox: email paths, reads back, indeterminate creates, and
//! rate limits that end quickly instead of sleeping.

use std::time::{Duration, Instant};

use tallyfy_guests::api::{ApiErrorKind, Client, Gate, NewGuest};
use tallyfy_guests::config::{ApiConfig, Credentials, Transport, parse_base_url};
use tallyfy_guests::sandbox::{FaultOptions, Sandbox, SandboxOptions};
use tallyfy_guests::secret::Secret;

use crate::util::PROMPTLY;

fn client(sandbox: &Sandbox, max_wait: Duration) -> Client {
    Client::new(&ApiConfig {
        base_url: parse_base_url(sandbox.base_url()).unwrap(),
        org: sandbox.org().into(),
        credentials: Credentials::Token(Secret::new(sandbox.token())),
        transport: Transport {
            max_retries: 3,
            max_wait,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            ..Transport::default()
        },
    })
    .unwrap()
}

fn new_guest(email: &str) -> NewGuest {
    NewGuest {
        email: email.into(),
        first_name: Some("Ann".into()),
        ..NewGuest::default()
    }
}

#[tokio::test]
async fn a_plus_addressed_email_round_trips_through_get_by_email() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let client = client(&sandbox, Duration::from_secs(5));
    let created = client
        .create_guest(&new_guest("a+b@x.com"), &Gate::default())
        .await
        .unwrap();
    assert_eq!(created.status, 201);
    let found = client.get_guest("a+b@x.com").await.unwrap().value.expect("found");
    assert_eq!(
        (found.email.as_str(), found.id.as_str()),
        ("a+b@x.com", created.value.id.as_str())
    );
    assert!(
        client.get_guest("a b@x.com").await.unwrap().value.is_none(),
        "+ must not become a space"
    );
    assert!(client.get_guest("nobody@x.com").await.unwrap().value.is_none());
    assert_eq!(sandbox.guests().len(), 1);
}

#[tokio::test]
async fn a_taken_email_is_a_422_with_the_field_message() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let client = client(&sandbox, Duration::from_secs(5));
    client
        .create_guest(&new_guest("Taken@X.com"), &Gate::default())
        .await
        .unwrap();
    let err = client
        .create_guest(&new_guest("taken@x.com"), &Gate::default())
        .await
        .unwrap_err();
    match &err.kind {
        ApiErrorKind::Rejected(fields) => assert_eq!(fields[0].to_string(), "email: The email has already been taken."),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status, Some(422));
    let member = client
        .create_guest(&new_guest("owner@sandbox.example"), &Gate::default())
        .await
        .unwrap_err();
    assert!(member.to_string().contains("member of this organization"), "{member}");
}

#[tokio::test]
async fn a_create_that_committed_but_failed_is_indeterminate_not_resent() {
    let sandbox = Sandbox::start(SandboxOptions {
        faults: FaultOptions {
            commit_fail_rate: 1.0,
            seed: 3,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let client = client(&sandbox, Duration::from_secs(5));
    for email in ["c1@x.com", "c2@x.com", "c3@x.com", "c4@x.com"] {
        let err = client
            .create_guest(&new_guest(email), &Gate::default())
            .await
            .unwrap_err();
        assert!(matches!(err.kind, ApiErrorKind::Indeterminate(_)), "{err}");
        assert_eq!(
            err.attempts, 1,
            "a POST with an unknown outcome is never resent blindly"
        );
        assert!(
            client.get_guest(email).await.unwrap().value.is_some(),
            "read back finds it"
        );
    }
    assert_eq!(sandbox.stats().posts, 4);
}

#[tokio::test]
async fn members_are_updated_and_the_201_quirk_is_accepted() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let client = client(&sandbox, Duration::from_secs(5));
    client
        .create_guest(&new_guest("m@x.com"), &Gate::default())
        .await
        .unwrap();
    let updated = client
        .update_members("m@x.com", &[1002, 1004], &Gate::default())
        .await
        .unwrap();
    assert_eq!(updated.value.associated_members, vec![1002, 1004]);
    assert_eq!(sandbox.guest("m@x.com").unwrap().associated_members, vec![1002, 1004]);
    let err = client
        .update_members("m@x.com", &[999], &Gate::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("associated_members.0"), "{err}");
}

#[tokio::test]
async fn an_invite_cap_beyond_max_wait_ends_quickly_with_rate_limited_until() {
    let sandbox = Sandbox::start(SandboxOptions {
        faults: FaultOptions {
            invite_cap: Some("1/h".parse().unwrap()),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let client = client(&sandbox, Duration::from_secs(5));
    client
        .create_guest(&new_guest("first@x.com"), &Gate::default())
        .await
        .unwrap();
    let started = Instant::now();
    let err = client
        .create_guest(&new_guest("second@x.com"), &Gate::default())
        .await
        .unwrap_err();
    // Not the hour the cap asks for.
    assert!(started.elapsed() < PROMPTLY, "took {:?}", started.elapsed());
    let text = err.to_string();
    assert!(matches!(err.kind, ApiErrorKind::RateLimited(_)), "{text}");
    assert!(text.starts_with("rate-limited until "), "{text}");
    assert!(text.contains("hourly limit for Guest Invite"), "{text}");
    // The invite cap holds creates only: the next create ends at once, reads go on.
    let started = Instant::now();
    let err = client
        .create_guest(&new_guest("third@x.com"), &Gate::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, ApiErrorKind::RateLimited(ref until) if until.invites_only),
        "{err}"
    );
    assert!(started.elapsed() < PROMPTLY, "took {:?}", started.elapsed());
    assert!(client.get_guest("first@x.com").await.unwrap().value.is_some());
    assert_eq!(sandbox.stats().posts, 2, "the third create was never sent");
    assert!(sandbox.guest("second@x.com").is_none());
}

#[tokio::test]
async fn a_short_burst_limit_is_waited_out_for_every_request() {
    let sandbox = Sandbox::start(SandboxOptions {
        faults: FaultOptions {
            burst_limit: Some("3/s".parse().unwrap()),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let client = client(&sandbox, Duration::from_secs(30));
    let results = futures::future::join_all((0..8).map(|i| {
        let client = &client;
        async move {
            client
                .create_guest(&new_guest(&format!("b{i}@x.com")), &Gate::default())
                .await
        }
    }))
    .await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(sandbox.guests().len(), 8);
    assert!(sandbox.stats().throttled > 0);
    assert!(client.pacer().paused() >= Duration::from_secs(1));
}
