//! The private-destination guard on literal addresses and `localhost`.

use std::net::IpAddr;

use baton_server::notify::{DestinationError, check_destination};

#[tokio::test]
async fn private_literals_and_localhost_are_refused_unless_allowed() {
    let cases = [
        ("http://127.0.0.1:8080/hook", "127.0.0.1"),
        ("https://10.1.2.3/hook", "10.1.2.3"),
        ("https://192.168.0.1/hook", "192.168.0.1"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://[::1]:8080/hook", "::1"),
        ("https://[fd00::1]/hook", "fd00::1"),
        ("http://0.0.0.0/", "0.0.0.0"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1"),
        // the URL parser reads these as 127.0.0.1
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://2130706433/", "127.0.0.1"),
    ];
    for (url, address) in cases {
        let error = check_destination(url, false).await.unwrap_err();
        let DestinationError::PrivateAddress { address: got, .. } = error else {
            panic!("{url}: {error:?}");
        };
        let got = match got {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(got, IpAddr::V4),
            v4 => v4,
        };
        assert_eq!(got, address.parse::<IpAddr>().unwrap(), "{url}");
        assert_eq!(check_destination(url, true).await, Ok(()), "{url}");
    }
}

#[tokio::test]
async fn localhost_resolves_to_loopback_and_is_refused() {
    let error = check_destination("http://localhost:9000/hook", false)
        .await
        .unwrap_err();
    let DestinationError::PrivateAddress { host, address } = error else {
        panic!("{error:?}");
    };
    assert_eq!(host, "localhost");
    assert!(address.is_loopback(), "{address}");
    assert_eq!(
        check_destination("http://localhost:9000/hook", true).await,
        Ok(())
    );
}

#[tokio::test]
async fn public_literals_pass_and_other_schemes_or_junk_do_not() {
    // Literal addresses are checked without resolving or connecting.
    for url in [
        "https://93.184.215.14/hook",
        "http://[2606:4700::1111]/",
        "https://8.8.8.8:8443/x",
    ] {
        assert_eq!(check_destination(url, false).await, Ok(()), "{url}");
    }
    assert_eq!(
        check_destination("ftp://93.184.215.14/", false).await,
        Err(DestinationError::UnsupportedScheme("ftp".into()))
    );
    assert_eq!(
        check_destination("file:///etc/passwd", true).await,
        Err(DestinationError::UnsupportedScheme("file".into()))
    );
    assert_eq!(
        check_destination("not a url", false).await,
        Err(DestinationError::InvalidUrl)
    );
    assert_eq!(
        check_destination("/relative/hook", false).await,
        Err(DestinationError::InvalidUrl)
    );
}
