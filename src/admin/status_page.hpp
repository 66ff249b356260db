#pragma once

#include <string_view>

namespace tpp::admin {

// GET /status on the health listener: one self-contained HTML page (inline
// CSS and vanilla JavaScript, no external asset) that polls /health every 2 s
// and draws the pool, the queue, request rates and latency percentiles
// (docs/operations.md, "Status page"). The page is src/admin/status_page.html,
// compiled in at build time (src/admin/CMakeLists.txt).
std::string_view status_page_html() noexcept;

inline constexpr std::string_view status_page_content_type = "text/html; charset=utf-8";

// Nothing but the page itself: no external script, style, image, font or
// frame; fetch() only to its own origin (/health). The inline <script> and
// <style> need 'unsafe-inline': the page is a compile-time constant that
// inserts no markup (every value from /health goes in through textContent or
// attributes), so there is nothing to inject into, and hashes would have to
// be recomputed on every edit of the HTML. No 'unsafe-eval'.
inline constexpr std::string_view status_page_csp =
    "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace tpp::admin
