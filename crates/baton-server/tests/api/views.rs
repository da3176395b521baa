//! Leader views over items created at different times on the fake clock:
//! oldest, ownerless, aging by impact × bucket, reason trends; and keyset
//! pagination of the handoff list.

use std::collections::HashSet;

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::{LEAD, REVIEWER, TestApp, id_of, new_handoff, on_both_backends};

on_both_backends!(
    views_show_open_work_by_age_impact_and_reason,
    pagination_walks_every_item_once,
);

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Moves the clock to `minutes` after the start.
fn at_minute(app: &TestApp, now: &mut i64, minutes: i64) {
    assert!(minutes >= *now);
    app.advance(SignedDuration::from_mins(minutes - *now));
    *now = minutes;
}

async fn views_show_open_work_by_age_impact_and_reason(app: TestApp) {
    let h = 60;
    let mut now = 0;
    // (minute created, impact, reason), oldest first.
    let plan = [
        (0, "high", "low_confidence"),        // a: 96h old at the end → ge_3d
        (48 * h, "low", "missing_data"),      // b: 48h → 1d_3d, previous window
        (60 * h, "high", "low_confidence"),   // c: 36h → 1d_3d, previous window
        (84 * h, "high", "policy_exception"), // d: 12h → 4h_24h
        (90 * h, "normal", "missing_data"),   // e: 6h → 4h_24h, claimed
        (92 * h, "low", "low_confidence"),    // f: resolved, not open
        (94 * h, "high", "low_confidence"),   // g: 2h → 1h_4h
        (95 * h + 50, "normal", "low_confidence"), // i: 10 min → lt_1h
    ];
    let mut ids_in_order = Vec::new();
    for (minute, impact, reason) in plan {
        at_minute(&app, &mut now, minute);
        ids_in_order.push(app.create_sample(impact, reason).await);
    }
    let [a, b, c, d, e, f, g, i] = ids_in_order.try_into().unwrap();
    at_minute(&app, &mut now, 96 * h);
    app.act_ok(REVIEWER, &e, "claim", json!({})).await;
    let token = app.act_ok(LEAD, &f, "claim", json!({})).await["claim_token"].clone();
    app.act_ok(
        LEAD,
        &f,
        "resolve",
        json!({"claim_token": token, "resolution": "rejected", "resolution_reason": "not_eligible"}),
    )
    .await;

    let oldest = app.get_ok(LEAD, "/v1/views/oldest").await;
    assert_eq!(
        ids(&oldest),
        [
            a.as_str(),
            b.as_str(),
            c.as_str(),
            d.as_str(),
            e.as_str(),
            g.as_str(),
            i.as_str()
        ]
    );
    assert_eq!(oldest["items"][0]["queue_age_seconds"], 96 * 3_600);
    assert_eq!(oldest["items"][6]["queue_age_seconds"], 10 * 60);
    let first_two = app.get_ok(LEAD, "/v1/views/oldest?limit=2").await;
    assert_eq!(ids(&first_two), [a.as_str(), b.as_str()]);

    let ownerless = app.get_ok(LEAD, "/v1/views/ownerless").await;
    assert_eq!(
        ids(&ownerless),
        [
            a.as_str(),
            b.as_str(),
            c.as_str(),
            d.as_str(),
            g.as_str(),
            i.as_str()
        ]
    );
    for item in ownerless["items"].as_array().unwrap() {
        assert_eq!(item["state"], "pending");
        assert_eq!(item["assignee"], Value::Null);
    }

    let aging = app.get_ok(LEAD, "/v1/views/aging").await;
    assert_eq!(
        aging["buckets"],
        json!(["lt_1h", "1h_4h", "4h_24h", "1d_3d", "ge_3d"])
    );
    let row = |lt1: u64, h1_4: u64, h4_24: u64, d1_3: u64, ge3: u64| json!({"lt_1h": lt1, "1h_4h": h1_4, "4h_24h": h4_24, "1d_3d": d1_3, "ge_3d": ge3});
    assert_eq!(
        aging["rows"],
        json!([
            {"impact": "high", "buckets": row(0, 1, 1, 1, 1), "total": 4},
            {"impact": "low", "buckets": row(0, 0, 0, 1, 0), "total": 1},
            {"impact": "normal", "buckets": row(1, 0, 1, 0, 0), "total": 2},
        ])
    );

    // The last 24 hours [72h, 96h) against [48h, 72h); resolved items count too.
    let reasons = app.get_ok(LEAD, "/v1/views/reasons?window_hours=24").await;
    let trends: Vec<(&str, u64, u64, i64)> = reasons["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap(),
                r["count"].as_u64().unwrap(),
                r["previous"].as_u64().unwrap(),
                r["change"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        trends,
        [
            ("low_confidence", 3, 1, 2),
            ("missing_data", 1, 1, 0),
            ("policy_exception", 1, 0, 1),
        ]
    );
    assert_eq!(reasons["reasons"][0]["change_pct"], 200.0);
    assert_eq!(reasons["reasons"][2]["change_pct"], Value::Null);
    let start = crate::helpers::start();
    let to = start.checked_add(SignedDuration::from_hours(96)).unwrap();
    assert_eq!(reasons["to"], json!(to));
    assert_eq!(
        reasons["from"],
        json!(start.checked_add(SignedDuration::from_hours(72)).unwrap())
    );
    assert_eq!(
        reasons["previous_from"],
        json!(start.checked_add(SignedDuration::from_hours(48)).unwrap())
    );
    // The default window is a week: everything is current.
    let week = app.get_ok(LEAD, "/v1/views/reasons").await;
    assert_eq!(week["reasons"][0]["reason"], "low_confidence");
    assert_eq!(week["reasons"][0]["count"], 5);
    assert_eq!(week["reasons"][0]["previous"], 0);

    // Time moves on: everything ages a day; the ages move buckets.
    app.advance(SignedDuration::from_hours(24));
    let aging = app.get_ok(LEAD, "/v1/views/aging").await;
    assert_eq!(
        aging["rows"],
        json!([
            {"impact": "high", "buckets": row(0, 0, 0, 3, 1), "total": 4},
            {"impact": "low", "buckets": row(0, 0, 0, 0, 1), "total": 1},
            {"impact": "normal", "buckets": row(0, 0, 0, 2, 0), "total": 2},
        ])
    );
}

async fn pagination_walks_every_item_once(app: TestApp) {
    // Seven items, three of them created in the same microsecond (ties are
    // broken by id), in two workflows and groups.
    let mut created = Vec::new();
    for step in 0..7 {
        if step != 3 && step != 4 {
            app.advance(SignedDuration::from_secs(30));
        }
        let mut body = new_handoff(["high", "low"][step % 2], "fraud");
        if step == 5 {
            body["owner_group"] = "billing".into();
        }
        let json = app.create(crate::helpers::ADMIN, body).await;
        created.push((
            json["created_at"].as_str().unwrap().to_owned(),
            id_of(&json),
        ));
    }
    let mut by_age = created.clone();
    by_age.sort();
    let by_age: Vec<String> = by_age.into_iter().map(|(_, id)| id).collect();

    for (sort, expect) in [
        ("age", by_age.clone()),
        ("created", by_age.iter().rev().cloned().collect()),
    ] {
        let mut seen = Vec::new();
        let mut path = format!("/v1/handoffs?limit=2&sort={sort}");
        let mut pages = 0;
        loop {
            let page = app.get_ok(LEAD, &path).await;
            pages += 1;
            let items = ids(&page);
            assert!(items.len() <= 2);
            seen.extend(items);
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    path = format!("/v1/handoffs?limit=2&sort={sort}&cursor={cursor}");
                }
                None => break,
            }
            assert!(pages < 10, "pagination does not end");
        }
        assert_eq!(seen, expect, "sort={sort}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
        assert_eq!(pages, 4, "sort={sort}");
    }

    // Filters and scopes combine with the cursor.
    let mut seen = Vec::new();
    let mut path = "/v1/handoffs?limit=1&sort=age&impact=high".to_owned();
    loop {
        let page = app.get_ok(REVIEWER, &path).await;
        seen.extend(ids(&page));
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        path = format!("/v1/handoffs?limit=1&sort=age&impact=high&cursor={cursor}");
    }
    // Steps 0, 2, 4, 6 are high; none of them is in billing.
    let expect: Vec<String> = by_age
        .iter()
        .filter(|id| [0, 2, 4, 6].iter().any(|s| &created[*s].1 == *id))
        .cloned()
        .collect();
    assert_eq!(seen, expect);
    // The reviewer never sees the billing item.
    let all = app.get_ok(REVIEWER, "/v1/handoffs?limit=500").await;
    assert_eq!(ids(&all).len(), 6);
    assert!(!ids(&all).contains(&created[5].1));
}
