//! The pages, embedded in the binary (`assets/`): server-rendered shells (escaped text only)
//! and, per page, a script that fills it from the JSON API and refreshes it every 2 s, after
//! `common.js`. The scripts set text with `textContent` only, so nothing a device sends
//! becomes markup; the Content-Security-Policy allows no inline script.

/// HTML-escapes `s` for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#222}header{background:#1f3a5f;color:#fff;padding:.6em 1em;display:flex;gap:1.5em;align-items:center}\
header a{color:#fff;text-decoration:none}header form{margin-left:auto}main{padding:1em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left}\
.Good{color:#176d1a}.Uncertain{color:#a36a00}.Bad{color:#b00020}.warn{background:#fff4ce;padding:.4em .8em;margin:.3em 0}.err{color:#b00020}";

/// The login page; `message` is shown above the form (already plain text).
pub fn login(message: &str) -> String {
    let msg = if message.is_empty() { String::new() } else { format!("<p class=\"err\" id=\"message\">{}</p>", escape(message)) };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fxgate: log in</title><style>{STYLE}</style></head>\
         <body><header><strong>fxgate</strong></header><main><h1>Log in</h1>{msg}\
         <form method=\"post\" action=\"/ui/login\"><p><label>User <input name=\"user\" id=\"user\" autocomplete=\"username\" required></label></p>\
         <p><label>Password <input name=\"password\" id=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\" id=\"login\">Log in</button></p></form></main></body></html>"
    )
}

/// A page of the configurator: its path under `/ui/`, title, body and script.
pub struct Page {
    /// The path under `/ui/` (and the name of its script, `/ui/js/<name>.js`).
    pub name: &'static str,
    /// The title and the header link's text.
    pub title: &'static str,
    /// The body (trusted markup, filled by the script).
    pub body: &'static str,
    /// The page's script.
    pub script: &'static str,
}

macro_rules! page {
    ($name:literal, $title:literal) => {
        Page {
            name: $name,
            title: $title,
            body: include_str!(concat!("../assets/", $name, ".html")),
            script: include_str!(concat!("../assets/", $name, ".js")),
        }
    };
}

/// Every page, in the header's order.
pub const PAGES: &[Page] = &[
    page!("overview", "Overview"),
    page!("tags", "Tags"),
    page!("servers", "Servers"),
    page!("endpoints", "Endpoints"),
    page!("certificates", "Certificates"),
    page!("general", "General"),
    page!("users", "Users"),
    page!("logs", "Logs"),
    page!("config", "Config"),
];

/// The page at `/ui/<name>`.
pub fn find(name: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.name == name)
}

/// The script at `/ui/js/<name>`: `common.js` or a page's.
pub fn script(file: &str) -> Option<&'static str> {
    if file == "common.js" {
        return Some(COMMON_JS);
    }
    find(file.strip_suffix(".js")?).map(|p| p.script)
}

/// What every page's script builds on.
const COMMON_JS: &str = include_str!("../assets/common.js");

/// The browser tab's icon (an SVG: "fx" on the header's blue).
pub const FAVICON: &str = include_str!("../assets/favicon.svg");

/// `page` for `user`: the frame with the header's links, and the page's body and script.
pub fn render(page: &Page, user: &str, csrf: &str) -> String {
    let links: String = PAGES.iter().map(|p| format!("<a href=\"/ui/{}\">{}</a>", p.name, p.title)).collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"csrf\" content=\"{csrf}\">\
         <title>fxgate: {t}</title><style>{STYLE}</style><script src=\"/ui/js/common.js\" defer></script>\
         <script src=\"/ui/js/{name}.js\" defer></script></head>\
         <body><header><strong>fxgate</strong>{links}\
         <form method=\"post\" action=\"/ui/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <span id=\"who\">{u}</span> <button type=\"submit\" id=\"logout\">Log out</button></form></header>\
         <main><h1>{t}</h1>{body}</main></body></html>",
        t = escape(page.title),
        name = page.name,
        body = page.body,
        u = escape(user),
        csrf = escape(csrf),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        let p = render(&PAGES[0], "<script>", "tok");
        assert!(p.contains("&lt;script&gt;") && !p.contains("<span id=\"who\"><script>"));
    }
}
