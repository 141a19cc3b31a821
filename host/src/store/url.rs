//! Redis URLs in messages: a URL can carry a password, and a log line or an
//! error printed on a terminal must not.

/// A URL with its password replaced, for messages: the `user:password@`
/// form and the `pass=` / `password=` query parameters.
pub fn redact(url: &str) -> String {
    let mut out = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    };
    if let Some((base, query)) = out.clone().split_once('?') {
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key == "pass" || key == "password" => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}?{}", query.join("&"));
    }
    out
}

/// Several URLs (a cluster's seeds), each [`redact`]ed, joined by `, `.
pub fn redact_all(urls: &[String]) -> String {
    let redacted: Vec<String> = urls.iter().map(|url| redact(url)).collect();
    redacted.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
        assert_eq!(
            redact("redis+unix:///s.sock?user=u&pass=secret&db=1"),
            "redis+unix:///s.sock?user=u&pass=***&db=1"
        );
    }
}
