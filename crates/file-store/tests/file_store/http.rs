//! The routes under `/v1/files`, through the real service.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{Method, StatusCode, header};
use actix_web::test;
use bytes::Bytes;
use std::pin::Pin;

use futures_util::{Stream, stream};
use plinth_db::testing::TestDb;
use plinth_file_store::{FileStore, FileStoreConfig, http};
use serde_json::{Value, json};

use crate::common::*;

const ALL: &[&str] = &[
    "files:read:*",
    "files:write:*",
    "files:delete:*",
    "files:groups:read",
    "files:groups:write",
    "files:attachments:read",
    "files:attachments:write",
];

/// A migrated database with auth, the file store over `config`, and a token holding `scopes`.
async fn setup(db: &TestDb, config: &FileStoreConfig, scopes: &[&str]) -> (FileStore, String) {
    let mut migrators = plinth_auth::testing::migrators();
    migrators.push(&plinth_file_store::Migrator);
    plinth_db::migrate::up(db, &migrators).await.expect("migrate");
    let store = FileStore::with_blobs(
        db.conn().clone(),
        plinth_file_store::testing::blob_store(),
        config,
    )
    .expect("store");
    let token = plinth_auth::testing::bearer_with_scopes(db, scopes)
        .await
        .expect("token");
    (store, token)
}

/// The service with the file routes under `/v1`, as the server mounts them.
async fn service(
    db: &TestDb,
    store: &FileStore,
) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>
{
    let app = plinth_auth::testing::app(db.conn().clone(), store.clone(), http::configure, 1 << 20)
        .await
        .expect("app");
    test::init_service(app).await
}

fn bearer(token: &str) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {token}"))
}

async fn upload(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    token: &str,
    bucket: &str,
    name: &str,
    content: &[u8],
) -> (StatusCode, Value) {
    let req = test::TestRequest::post()
        .uri(&format!("/v1/files/buckets/{bucket}/files?name={name}"))
        .insert_header(bearer(token))
        .set_payload(content.to_vec())
        .to_request();
    let res = test::call_service(app, req).await;
    let status = res.status();
    let body = test::read_body(res).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn header_of<B>(res: &ServiceResponse<B>, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

plinth_db::db_test!(
    async fn downloads_have_validators_304s_and_ranges(db) {
        let (store, token) = setup(&db, &config(), ALL).await;
        let app = service(&db, &store).await;
        let content = b"0123456789abcdefghijklmnopqrstuvwxyz".repeat(100);
        let (status, file) = upload(&app, &token, DOCS, "report.txt", &content).await;
        assert_eq!(status, StatusCode::CREATED, "{file}");
        let id = file["id"].as_str().expect("id").to_owned();
        let url = format!("/v1/files/{id}/content");
        let get = |extra: Vec<(&'static str, String)>| {
            let mut req = test::TestRequest::get().uri(&url).insert_header(bearer(&token));
            for h in extra {
                req = req.insert_header(h);
            }
            req.to_request()
        };

        let res = test::call_service(&app, get(vec![])).await;
        assert_eq!(res.status(), StatusCode::OK);
        let etag = header_of(&res, "etag");
        assert_eq!(etag, format!("\"{}\"", blake3::hash(&content).to_hex()));
        let modified = header_of(&res, "last-modified");
        assert!(modified.ends_with(" GMT"), "{modified}");
        assert_eq!(header_of(&res, "accept-ranges"), "bytes");
        assert_eq!(header_of(&res, "content-length"), content.len().to_string());
        assert_eq!(header_of(&res, "x-content-type-options"), "nosniff");
        assert!(header_of(&res, "content-type").starts_with("text/plain"));
        assert_eq!(
            header_of(&res, "content-disposition"),
            "attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt"
        );
        assert_eq!(test::read_body(res).await, content.as_slice());

        for conditional in [
            vec![("if-none-match", etag.clone())],
            vec![("if-none-match", format!("\"other\", W/{etag}"))],
            vec![("if-modified-since", modified.clone())],
        ] {
            let res = test::call_service(&app, get(conditional)).await;
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
            assert_eq!(header_of(&res, "etag"), etag);
            assert!(test::read_body(res).await.is_empty());
        }
        let res = test::call_service(&app, get(vec![("if-none-match", "\"stale\"".into())])).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = test::call_service(
            &app,
            get(vec![("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT".into())]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);

        let res = test::call_service(&app, get(vec![("range", "bytes=10-19".into())])).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(header_of(&res, "content-range"), format!("bytes 10-19/{}", content.len()));
        assert_eq!(test::read_body(res).await, &content[10..20]);
        let res = test::call_service(&app, get(vec![("range", "bytes=-6".into())])).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(test::read_body(res).await, &content[content.len() - 6..]);

        let res = test::call_service(&app, get(vec![("range", "bytes=0-3, 36-39,3595-".into())])).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        let content_type = header_of(&res, "content-type");
        let boundary = content_type
            .strip_prefix("multipart/byteranges; boundary=")
            .expect("multipart")
            .to_owned();
        let declared: usize = header_of(&res, "content-length").parse().expect("length");
        let body = test::read_body(res).await;
        assert_eq!(body.len(), declared);
        let text = String::from_utf8(body.to_vec()).expect("utf-8");
        let parts: Vec<&str> = text.split(&format!("--{boundary}")).collect();
        assert_eq!(parts.len(), 5, "{text}");
        let total = content.len();
        for (part, (range, data)) in parts[1..4].iter().zip([
            ("0-3", "0123"),
            ("36-39", "0123"),
            (&*format!("3595-{}", total - 1), "vwxyz"),
        ]) {
            assert!(part.contains(&format!("Content-Range: bytes {range}/{total}\r\n")), "{part}");
            assert!(part.ends_with(&format!("\r\n\r\n{data}\r\n")), "{part:?}");
        }
        assert_eq!(parts[4], "--\r\n");

        let res = test::call_service(&app, get(vec![("range", "bytes=5000-6000".into())])).await;
        assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(header_of(&res, "content-range"), format!("bytes */{total}"));
        assert_eq!(header_of(&res, "content-type"), "application/problem+json");

        // A stale If-Range turns the range request into a full response.
        let stale = vec![("range", "bytes=0-1".into()), ("if-range", "\"stale\"".to_owned())];
        let res = test::call_service(&app, get(stale)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let fresh = vec![("range", "bytes=0-1".into()), ("if-range", etag.clone())];
        assert_eq!(test::call_service(&app, get(fresh)).await.status(), StatusCode::PARTIAL_CONTENT);

        let head = test::TestRequest::default()
            .method(Method::HEAD)
            .uri(&url)
            .insert_header(bearer(&token))
            .to_request();
        let res = test::call_service(&app, head).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header_of(&res, "etag"), etag);
    }
);

plinth_db::db_test!(
    async fn scopes_guard_every_route(db) {
        let (store, writer) = setup(&db, &config(), ALL).await;
        let reader = plinth_auth::testing::bearer_with_scopes(&db, &["files:read:images"]).await.expect("token");
        let app = service(&db, &store).await;
        let (_, file) = upload(&app, &writer, DOCS, "a.txt", b"abc").await;
        let id = file["id"].as_str().expect("id").to_owned();

        let anonymous = test::TestRequest::get().uri(&format!("/v1/files/{id}")).to_request();
        assert_eq!(test::call_service(&app, anonymous).await.status(), StatusCode::UNAUTHORIZED);
        let other_bucket = test::TestRequest::get()
            .uri(&format!("/v1/files/{id}"))
            .insert_header(bearer(&reader))
            .to_request();
        let res = test::call_service(&app, other_bucket).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let problem: Value = serde_json::from_slice(&test::read_body(res).await).expect("problem");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("files:read:docs"), "{problem}");
        let (status, _) = upload(&app, &reader, IMAGES, "x.png", PNG).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let delete = test::TestRequest::delete()
            .uri(&format!("/v1/files/{id}"))
            .insert_header(bearer(&reader))
            .to_request();
        assert_eq!(test::call_service(&app, delete).await.status(), StatusCode::FORBIDDEN);
        let groups = test::TestRequest::get().uri("/v1/files/groups").insert_header(bearer(&reader)).to_request();
        assert_eq!(test::call_service(&app, groups).await.status(), StatusCode::FORBIDDEN);

        let get = test::TestRequest::get()
            .uri(&format!("/v1/files/{id}"))
            .insert_header(bearer(&writer))
            .to_request();
        let res = test::call_service(&app, get).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = serde_json::from_slice(&test::read_body(res).await).expect("file");
        assert_eq!(body["name"], json!("a.txt"));
        let nul = test::TestRequest::patch()
            .uri(&format!("/v1/files/{id}"))
            .insert_header(bearer(&writer))
            .set_json(json!({"name": "b\u{0}.txt", "meta": {"k": "\u{0}"}}))
            .to_request();
        assert_eq!(test::call_service(&app, nul).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let renamed = test::TestRequest::patch()
            .uri(&format!("/v1/files/{id}"))
            .insert_header(bearer(&writer))
            .set_json(json!({"name": "b\u{0}.txt"}))
            .to_request();
        let res = test::call_service(&app, renamed).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = serde_json::from_slice(&test::read_body(res).await).expect("file");
        assert_eq!(body["name"], json!("b.txt"));
        let delete = test::TestRequest::delete()
            .uri(&format!("/v1/files/{id}"))
            .insert_header(bearer(&writer))
            .to_request();
        assert_eq!(test::call_service(&app, delete).await.status(), StatusCode::NO_CONTENT);
        let gone = test::TestRequest::get()
            .uri(&format!("/v1/files/{id}/content"))
            .insert_header(bearer(&writer))
            .to_request();
        assert_eq!(test::call_service(&app, gone).await.status(), StatusCode::NOT_FOUND);
        let bad_id = test::TestRequest::get().uri("/v1/files/not-a-uuid").insert_header(bearer(&writer)).to_request();
        assert_eq!(test::call_service(&app, bad_id).await.status(), StatusCode::NOT_FOUND);
    }
);

plinth_db::db_test!(
    async fn refused_types_oversize_and_empty_files(db) {
        let (store, token) = setup(&db, &config(), ALL).await;
        let app = service(&db, &store).await;
        let (status, problem) = upload(&app, &token, IMAGES, "fake.png", b"just text").await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{problem}");
        assert_eq!(problem["type"], json!("urn:plinth:problem:unsupported-media-type"));
        let (status, image) = upload(&app, &token, IMAGES, "dot.png", PNG).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(image["content_type"], json!("image/png"));

        let (status, problem) = upload(&app, &token, TINY, "big", &[b'x'; TINY_MAX as usize + 1]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
        let (status, _) = upload(&app, &token, "nope", "x", b"x").await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, empty) = upload(&app, &token, DOCS, "empty", b"").await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(empty["content_length"], json!(0));
        let url = format!("/v1/files/{}/content", empty["id"].as_str().expect("id"));
        let res = test::call_service(&app, test::TestRequest::get().uri(&url).insert_header(bearer(&token)).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header_of(&res, "content-length"), "0");
        assert!(test::read_body(res).await.is_empty());
        let ranged = test::TestRequest::get()
            .uri(&url)
            .insert_header(bearer(&token))
            .insert_header(("range", "bytes=0-0"))
            .to_request();
        let res = test::call_service(&app, ranged).await;
        assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(header_of(&res, "content-range"), "bytes */0");
    }
);

plinth_db::db_test!(
    async fn hostile_names_get_a_safe_content_disposition(db) {
        let (store, token) = setup(&db, &config(), ALL).await;
        let app = service(&db, &store).await;
        for (query, stored, disposition) in [
            (
                "..%2F..%2Fetc%2Fpasswd",
                "....etcpasswd",
                "attachment; filename=\"....etcpasswd\"; filename*=UTF-8''....etcpasswd",
            ),
            (
                "a%00b%0D%0AX-Injected%3A%201.txt",
                "abX-Injected: 1.txt",
                "attachment; filename=\"abX-Injected: 1.txt\"; filename*=UTF-8''abX-Injected%3A%201.txt",
            ),
            (
                "..%5C..%5Cwin%22dows%22.ini",
                "....win\"dows\".ini",
                "attachment; filename=\"....win_dows_.ini\"; filename*=UTF-8''....win%22dows%22.ini",
            ),
            (
                "%C3%A9t%C3%A9.txt",
                "été.txt",
                "attachment; filename=\"_t_.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt",
            ),
        ] {
            let (status, file) = upload(&app, &token, DOCS, query, b"data").await;
            assert_eq!(status, StatusCode::CREATED, "{file}");
            assert_eq!(file["name"], json!(stored));
            let url = format!("/v1/files/{}/content", file["id"].as_str().expect("id"));
            let res = test::call_service(&app, test::TestRequest::get().uri(&url).insert_header(bearer(&token)).to_request()).await;
            assert_eq!(header_of(&res, "content-disposition"), disposition);
        }
    }
);

plinth_db::db_test!(
    async fn signed_links_expire_and_rotate(db) {
        let (store, token) = setup(&db, &config(), ALL).await;
        let app = service(&db, &store).await;
        let (_, file) = upload(&app, &token, DOCS, "shared.txt", b"shared content").await;
        let id = file["id"].as_str().expect("id").to_owned();
        let sign = test::TestRequest::post()
            .uri(&format!("/v1/files/{id}/links"))
            .insert_header(bearer(&token))
            .set_json(json!({"ttl_secs": 600}))
            .to_request();
        let res = test::call_service(&app, sign).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let link: Value = serde_json::from_slice(&test::read_body(res).await).expect("link");
        let url = link["url"].as_str().expect("url").to_owned();
        assert!(url.starts_with(&format!("/v1/files/shared/{id}?expires=")), "{url}");

        let res = test::call_service(&app, test::TestRequest::get().uri(&url).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "no credentials needed");
        assert_eq!(test::read_body(res).await, "shared content");
        let ranged = test::TestRequest::get().uri(&url).insert_header(("range", "bytes=0-5")).to_request();
        assert_eq!(test::call_service(&app, ranged).await.status(), StatusCode::PARTIAL_CONTENT);

        let tampered = url.replace(&id, &uuid::Uuid::now_v7().to_string());
        assert_eq!(test::call_service(&app, test::TestRequest::get().uri(&tampered).to_request()).await.status(), StatusCode::FORBIDDEN);
        let too_long = test::TestRequest::post()
            .uri(&format!("/v1/files/{id}/links"))
            .insert_header(bearer(&token))
            .set_json(json!({"ttl_secs": 999_999}))
            .to_request();
        assert_eq!(test::call_service(&app, too_long).await.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let file_id = id.parse().expect("uuid");
        let expired = store
            .signer()
            .sign(file_id, time::OffsetDateTime::now_utc() - time::Duration::seconds(1))
            .expect("sign");
        let expired_url = format!("/v1/files/shared/{id}?{}", expired.query());
        let res = test::call_service(&app, test::TestRequest::get().uri(&expired_url).to_request()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let problem: Value = serde_json::from_slice(&test::read_body(res).await).expect("problem");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("expired"), "{problem}");

        // Retiring key k1 revokes the link; a link signed with k2 works.
        let mut rotated = config();
        rotated.signing = signing("k2", &["k2"]);
        let rotated = FileStore::with_blobs(db.conn().clone(), store.blobs().clone(), &rotated).expect("store");
        let app = service(&db, &rotated).await;
        let res = test::call_service(&app, test::TestRequest::get().uri(&url).to_request()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let fresh = rotated.sign_link(file_id, time::Duration::minutes(1)).await.expect("sign");
        let fresh_url = format!("/v1/files/shared/{id}?{}", fresh.query());
        assert_eq!(test::call_service(&app, test::TestRequest::get().uri(&fresh_url).to_request()).await.status(), StatusCode::OK);
    }
);

fn tus_request(method: Method, uri: &str, token: &str) -> test::TestRequest {
    test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(bearer(token))
        .insert_header(("tus-resumable", "1.0.0"))
}

plinth_db::db_test!(
    async fn tus_uploads_resume_after_a_dropped_connection(db) {
        let (store, token) = setup(&db, &config(), ALL).await;
        let app = service(&db, &store).await;
        let content = data(300_000);
        let base = format!("/v1/files/buckets/{DOCS}/uploads");

        let options = test::TestRequest::default().method(Method::OPTIONS).uri(&base).to_request();
        let res = test::call_service(&app, options).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(header_of(&res, "tus-version"), "1.0.0");
        assert_eq!(header_of(&res, "tus-extension"), "creation,termination");
        assert_eq!(header_of(&res, "tus-max-size"), plinth_file_store::bucket::DEFAULT_MAX_SIZE.to_string());

        let create = tus_request(Method::POST, &base, &token)
            .insert_header(("upload-length", content.len().to_string()))
            // filename "data.bin", note "hi"
            .insert_header(("upload-metadata", "filename ZGF0YS5iaW4=,note aGk=,filetype dGV4dC9wbGFpbg=="))
            .to_request();
        let res = test::call_service(&app, create).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(header_of(&res, "tus-resumable"), "1.0.0");
        let location = header_of(&res, "location");
        assert!(location.starts_with(&format!("{base}/")), "{location}");

        let no_version = test::TestRequest::default()
            .method(Method::HEAD)
            .uri(&location)
            .insert_header(bearer(&token))
            .to_request();
        let res = test::call_service(&app, no_version).await;
        assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(header_of(&res, "tus-version"), "1.0.0");
        let wrong_type = tus_request(Method::PATCH, &location, &token)
            .insert_header(("upload-offset", "0"))
            .insert_header(("content-type", "application/octet-stream"))
            .set_payload(content[..10].to_vec())
            .to_request();
        assert_eq!(test::call_service(&app, wrong_type).await.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // The connection drops after 100 000 bytes of the first PATCH.
        let sent = 100_000;
        let mut chunks: Vec<Result<Bytes, PayloadError>> =
            content[..sent].chunks(10_000).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        chunks.push(Err(PayloadError::Incomplete(None)));
        let (req, _) = tus_request(Method::PATCH, &location, &token)
            .insert_header(("upload-offset", "0"))
            .insert_header(("content-type", "application/offset+octet-stream"))
            .to_request()
            .replace_payload(Payload::Stream {
                payload: Box::pin(stream::iter(chunks)) as Pin<Box<dyn Stream<Item = _>>>,
            });
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);

        let head = test::call_service(&app, tus_request(Method::HEAD, &location, &token).to_request()).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(header_of(&head, "upload-offset"), sent.to_string());
        assert_eq!(header_of(&head, "upload-length"), content.len().to_string());
        assert_eq!(header_of(&head, "cache-control"), "no-store");

        let stale = tus_request(Method::PATCH, &location, &token)
            .insert_header(("upload-offset", "0"))
            .insert_header(("content-type", "application/offset+octet-stream"))
            .set_payload(content.clone())
            .to_request();
        assert_eq!(test::call_service(&app, stale).await.status(), StatusCode::CONFLICT);

        let rest = tus_request(Method::PATCH, &location, &token)
            .insert_header(("upload-offset", sent.to_string()))
            .insert_header(("content-type", "application/offset+octet-stream"))
            .set_payload(content[sent..].to_vec())
            .to_request();
        let res = test::call_service(&app, rest).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(header_of(&res, "upload-offset"), content.len().to_string());
        let file_id = header_of(&res, "plinth-file-id");

        let res = test::call_service(
            &app,
            test::TestRequest::get().uri(&format!("/v1/files/{file_id}")).insert_header(bearer(&token)).to_request(),
        )
        .await;
        let file: Value = serde_json::from_slice(&test::read_body(res).await).expect("file");
        assert_eq!(file["name"], json!("data.bin"));
        assert_eq!(file["meta"], json!({"note": "hi"}));
        assert_eq!(file["checksum"], json!(blake3::hash(&content).to_hex().to_string()));
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/v1/files/{file_id}/content"))
                .insert_header(bearer(&token))
                .to_request(),
        )
        .await;
        assert!(test::read_body(res).await == content.as_slice());

        let head = test::call_service(&app, tus_request(Method::HEAD, &location, &token).to_request()).await;
        assert_eq!(header_of(&head, "plinth-file-id"), file_id);

        let too_long = tus_request(Method::POST, &format!("/v1/files/buckets/{TINY}/uploads"), &token)
            .insert_header(("upload-length", (TINY_MAX + 1).to_string()))
            .to_request();
        assert_eq!(test::call_service(&app, too_long).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let no_length = tus_request(Method::POST, &base, &token).to_request();
        assert_eq!(test::call_service(&app, no_length).await.status(), StatusCode::BAD_REQUEST);

        let doomed = tus_request(Method::POST, &base, &token).insert_header(("upload-length", "5")).to_request();
        let doomed = header_of(&test::call_service(&app, doomed).await, "location");
        let other_bucket = doomed.replace(&format!("/buckets/{DOCS}/"), &format!("/buckets/{IMAGES}/"));
        let res = test::call_service(&app, tus_request(Method::HEAD, &other_bucket, &token).to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = test::call_service(&app, tus_request(Method::DELETE, &doomed, &token).to_request()).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = test::call_service(&app, tus_request(Method::HEAD, &doomed, &token).to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
);

plinth_db::db_test!(
    async fn groups_and_attachments_over_http(db) {
        let (store, token) = setup(&db, &config(), ALL).await;
        let app = service(&db, &store).await;
        let (_, file) = upload(&app, &token, DOCS, "doc.txt", b"doc").await;
        let file_id = file["id"].as_str().expect("id").to_owned();
        let call = |method: Method, uri: &str, body: Value| {
            test::TestRequest::default()
                .method(method)
                .uri(uri)
                .insert_header(bearer(&token))
                .set_json(body)
                .to_request()
        };
        let json_of = |bytes: Bytes| serde_json::from_slice::<Value>(&bytes).expect("json");

        let res = test::call_service(&app, call(Method::POST, "/v1/files/groups", json!({"name": "top"}))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let top = json_of(test::read_body(res).await);
        let top_id = top["id"].as_str().expect("id").to_owned();
        let mut children = Vec::new();
        for name in ["a", "b"] {
            let res = test::call_service(
                &app,
                call(Method::POST, "/v1/files/groups", json!({"name": name, "parent": top_id})),
            )
            .await;
            children.push(json_of(test::read_body(res).await)["id"].as_str().expect("id").to_owned());
        }
        let entry = json!({"name": "entry", "parent": children[0], "file": file_id});
        let res = test::call_service(&app, call(Method::POST, "/v1/files/groups", entry)).await;
        assert_eq!(res.status(), StatusCode::CREATED);

        let order = json!({"parent": top_id, "ids": [children[1], children[0]]});
        let res = test::call_service(&app, call(Method::PUT, "/v1/files/groups/order", order)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let listed = json_of(test::read_body(res).await);
        assert_eq!(listed[0]["name"], json!("b"));
        let cycle = call(Method::POST, &format!("/v1/files/groups/{top_id}/move"), json!({"parent": children[0]}));
        let res = test::call_service(&app, cycle).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let bad = call(Method::POST, "/v1/files/groups", json!({"name": "x", "meta": [1]}));
        assert_eq!(test::call_service(&app, bad).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let unknown_field = call(Method::POST, "/v1/files/groups", json!({"nam": "x"}));
        assert_eq!(test::call_service(&app, unknown_field).await.status(), StatusCode::BAD_REQUEST);
        let res = test::call_service(&app, call(Method::DELETE, &format!("/v1/files/groups/{top_id}"), json!(null))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = test::call_service(&app, call(Method::GET, &format!("/v1/files/groups/{}", children[1]), json!(null))).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "cascade");

        let attach = json!({"owner_type": "event", "owner_id": "7", "file": file_id});
        let res = test::call_service(&app, call(Method::POST, "/v1/files/attachments", attach.clone())).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let attachment = json_of(test::read_body(res).await);
        assert_eq!(test::call_service(&app, call(Method::POST, "/v1/files/attachments", attach)).await.status(), StatusCode::CONFLICT);
        let res = test::call_service(&app, call(Method::GET, "/v1/files/attachments?owner_type=event&owner_id=7", json!(null))).await;
        let list = json_of(test::read_body(res).await);
        assert_eq!(list[0]["id"], attachment["id"]);
        let detach = format!("/v1/files/attachments/{}", attachment["id"].as_str().expect("id"));
        assert_eq!(test::call_service(&app, call(Method::DELETE, &detach, json!(null))).await.status(), StatusCode::NO_CONTENT);
        let missing = json!({"owner_type": "event", "owner_id": "7", "file": uuid::Uuid::now_v7()});
        assert_eq!(test::call_service(&app, call(Method::POST, "/v1/files/attachments", missing)).await.status(), StatusCode::NOT_FOUND);
    }
);

#[::std::prelude::v1::test]
fn the_openapi_document_names_every_route() {
    use utoipa::OpenApi;
    let doc = http::ApiDoc::openapi();
    for path in [
        "/v1/files/buckets/{bucket}/files",
        "/v1/files/buckets/{bucket}/uploads",
        "/v1/files/buckets/{bucket}/uploads/{id}",
        "/v1/files/{id}",
        "/v1/files/{id}/content",
        "/v1/files/{id}/links",
        "/v1/files/shared/{id}",
        "/v1/files/groups",
        "/v1/files/groups/{id}",
        "/v1/files/groups/{id}/move",
        "/v1/files/groups/order",
        "/v1/files/attachments",
        "/v1/files/attachments/{id}",
        "/v1/files/attachments/order",
    ] {
        assert!(doc.paths.paths.contains_key(path), "{path} is documented");
    }
    assert!(doc.to_json().is_ok());
}
