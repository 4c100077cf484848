//! Building `aws_sdk_s3::Client`s: from the Lambda environment, or for a given endpoint
//! (the embedded server, LocalStack, any S3-compatible store).
//!
//! The SDK is built without its default HTTPS client (aws-lc-rs, a slow C build); rustls
//! with the ring provider is wired here instead, once.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// HTTPS (and plain HTTP) client: rustls + ring, native roots, loaded on the first request
/// (see [`DeferredTls`]).
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(DeferredTls(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https(),
    ))
}

/// The smithy HTTPS client with its connector built on the first request instead of when
/// the S3 client is constructed.
///
/// The smithy client builds its connector, and with it reads and parses every native root
/// CA file, in `validate_base_client_config`, which runs when the S3 client is built: in a
/// Lambda function that is init time, before the first `invocation/next`. This wrapper keeps
/// the default (no-op) validation and forwards everything else, so that cost moves to the
/// first request, where the function is about to open a TLS connection anyway. Nothing
/// else changes: connectors are still built and cached per settings by the inner client.
#[derive(Debug)]
struct DeferredTls(SharedHttpClient);

impl HttpClient for DeferredTls {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The client a Lambda function uses: region and credentials from the environment.
pub async fn client_from_env() -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await;
    Client::new(&config)
}

/// A client for an S3-compatible endpoint such as `http://127.0.0.1:9000` (path-style
/// addressing, static keys).
pub fn client_for_endpoint(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .credentials_provider(Credentials::new(
            access_key, secret_key, None, None, "copyflow",
        ))
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    Client::from_conf(config)
}
