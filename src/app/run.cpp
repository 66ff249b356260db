#include "app/run.hpp"

#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "access/key_store.hpp"
#include "admin/clients_json.hpp"
#include "admin/health.hpp"
#include "admin/health_server.hpp"
#include "app/node_reload.hpp"
#include "app/notify.hpp"
#include "app/reload.hpp"
#include "app/successor.hpp"
#include "app/upgrade_socket.hpp"
#include "common/fd_limit.hpp"
#include "common/file_watch.hpp"
#include "common/log_exception.hpp"
#include "config/exposure.hpp"
#include "dolphindb/credential_store.hpp"
#include "dolphindb/login_client.hpp"
#include "metrics/registry.hpp"
#include "net/server_tls.hpp"
#include "net/upstream_stream.hpp"
#include "pool/node_failover.hpp"
#include "pool/token_manager.hpp"
#include "proxy/server.hpp"
#include "telemetry/otlp/exporter.hpp"

namespace tpp::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// After the grace period, how long the event loops get to run out of work
// before they are stopped outright (docs/proxy.md, "Shutdown").
constexpr std::chrono::milliseconds shutdown_margin{1000};

// The login client's verdict as tpp_logins_total counts it. A switch, so that
// a new kind fails to compile (-Wswitch) instead of being miscounted.
metrics::login_outcome metrics_outcome(dolphindb::login_outcome::kind k) noexcept {
  using kind = dolphindb::login_outcome::kind;
  switch (k) {
    case kind::ok:
      return metrics::login_outcome::ok;
    case kind::rejected:
      return metrics::login_outcome::rejected;
    case kind::max_connections:
      return metrics::login_outcome::max_connections;
    case kind::failed:
      break;
  }
  return metrics::login_outcome::failed;
}

// Everything tpp runs, wired together; lives for the whole process.
struct application {
  application(const config::config& c, const run_options& opts)
      : cfg(c), reload_source(opts.reload), args(opts.args) {
    // SIGHUP and SIGUSR1/2 end a process by default: caught here so that a
    // reload habit (or a stray kill -HUP) does not drop in-flight requests.
    // SIGCHLD: a successor started on SIGUSR2 that ended is reaped.
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD}) signals.add(sig);
  }

  // The configuration at start-up; what a reload changed is in ctx.settings().
  const config::config& cfg;
  std::function<config::load_result()> reload_source;  // SIGHUP; empty: reload refused
  std::vector<std::string> args;                       // the command line, for a successor
  std::string exe = executable_path();                 // read now: an upgrade replaces the file
  asio::io_context control{1};                         // token manager, health server, signals
  proxy::proxy_context ctx;
  std::unique_ptr<telemetry::otlp::exporter> tracer;
  dolphindb::credential_store credential{cfg.credential.username, cfg.credential.password,
                                         cfg.credential.password_file};
  std::optional<file_watch> password_watch;
  std::unique_ptr<pool::token_manager> tokens;
  // Two or more upstream.nodes: their health and failover (docs/cluster.md).
  std::unique_ptr<pool::node_failover> failover;
  std::unique_ptr<proxy::server> proxy;
  std::optional<admin::health_server> health;
  asio::signal_set signals{control};
  std::shared_ptr<net::server_tls> health_tls;  // health_tls, when set
  // Polls clients.keys_file and the health_tls files for changes (only when
  // either is set); shutdown cancels it.
  std::optional<asio::steady_timer> file_poll;
  // upgrade.socket: where a successor asks for the listeners.
  std::optional<upgrade_listener> upgrade;
  // --take-over: the tpp this one replaces, until this one is ready.
  std::optional<predecessor> taking_over;
  int exit_code = 0;
  bool stopping = false;
  // Set when shutdown begins: every event loop ends by then. Main thread only.
  std::optional<std::chrono::steady_clock::time_point> hard_deadline;

  admin::health_inputs health_inputs() const {
    admin::health_inputs in;
    auto snap = ctx.pool->snapshot();  // one lock: counts and slots agree
    in.counts = snap.counts;
    in.slots = std::move(snap.slots);
    in.oldest_waiter_since = snap.oldest_waiter_since;
    in.clients = std::move(snap.clients);
    in.active_clients = snap.active_clients;
    in.now = steady_clock::instance().now();
    in.min_ready = cfg.token.min_ready;
    in.ttl = cfg.token.ttl;
    in.shutting_down = ctx.shutting_down.load();
    in.login_error = tokens ? tokens->last_error() : std::string();
    if (auto o = tokens ? tokens->outage() : std::nullopt) in.outage = std::move(o->reason);
    if (tokens) in.unverified = tokens->unverified_slots();
    if (tokens) {
      in.slot_logins = tokens->slot_logins();
      in.login_failures = tokens->recent_login_failures();
      in.login_failures_total = tokens->login_failures_total();
    }
    if (failover) in.nodes = failover->status();
    return in;
  }
};

// `tls` is target.tls, kept alive for the login: a reload may replace it.
asio::awaitable<dolphindb::login_outcome> login_once(asio::any_io_executor ex,
                                                     net::upstream_target target,
                                                     std::shared_ptr<asio::ssl::context> tls,
                                                     dolphindb::credential_store* store,
                                                     std::chrono::milliseconds timeout) {
  target.tls = tls.get();
  // Two statements, not `co_return co_await`, which GCC 12 miscompiles.
  auto outcome =
      co_await dolphindb::async_login_with(std::move(ex), std::move(target), *store, timeout);
  co_return outcome;
}

// One login to `node`, told to the failover (when there are several nodes)
// if `report`: the token manager's logins are; the prober reports its own.
asio::awaitable<dolphindb::login_outcome> node_login(application* app, std::size_t node,
                                                     bool report) {
  // The read timeout may change on reload; the connect timeout cannot.
  const auto timeout =
      app->cfg.upstream.connect_timeout + app->ctx.settings()->upstream.read_timeout;
  auto outcome = co_await login_once(app->control.get_executor(), app->ctx.target_of(node),
                                     app->ctx.upstream_tls(), &app->credential, timeout);
  if (report && app->failover) app->failover->on_login(node, outcome);
  co_return outcome;
}

// Stop accepting, report not-ready, let in-flight exchanges finish for up to
// shutdown_grace, then close what is left and let the threads end.
asio::awaitable<void> shut_down(application* app) {
  if (app->stopping) co_return;
  app->stopping = true;
  app->ctx.shutting_down = true;
  // After a take-over the successor is the service's main process: a
  // STOPPING from here would make systemd stop the whole service, and the
  // successor answers /health.
  const bool handed_over = app->ctx.handing_over.load();
  if (!handed_over) notify_stopping("draining");
  if (handed_over && app->health) app->health->stop();
  if (app->upgrade) app->upgrade->stop();
  app->proxy->begin_shutdown();
  const auto deadline = steady_clock::instance().now() + app->ctx.settings()->shutdown_grace;
  app->hard_deadline = deadline + shutdown_margin;
  asio::steady_timer tick(app->control);
  while (app->proxy->active_sessions() > 0 && steady_clock::instance().now() < deadline) {
    tick.expires_after(20ms);
    co_await tick.async_wait(use_tuple);
  }
  if (const auto left = app->proxy->active_sessions(); left > 0) {
    spdlog::warn("shutdown: closing {} connection(s) still open after the grace period", left);
  }
  app->proxy->force_close();
  // Ending the control loop's work lets control.run() return: nothing on it
  // may keep waiting (the token manager cancels its logins and timers).
  app->tokens->stop();
  if (app->failover) app->failover->stop();
  if (app->health) app->health->stop();
  if (app->file_poll) app->file_poll->cancel();
  boost::system::error_code ignored;
  app->signals.cancel(ignored);
}

// The successor said it is ready: this process stops accepting (the sockets
// stay open in the successor) and drains; idle connections answer one more
// request, with Connection: close (docs/operations.md, "Upgrades without
// downtime").
asio::awaitable<void> hand_over_listeners(application* app, int pid) {
  if (app->stopping) co_return;
  spdlog::info("upgrade: pid {} is ready and serves; this process stops accepting and drains", pid);
  app->ctx.handing_over = true;
  co_await shut_down(app);
}

// upgrade.socket, opened once this process serves. Throws std::runtime_error.
void open_upgrade_socket(application& app) {
  if (app.cfg.upgrade.socket.empty()) return;
  upgrade_listener::hooks h;
  h.listeners = [&app]() -> std::optional<listener_set> {
    if (app.stopping) return std::nullopt;
    listener_set set{app.proxy->listening_fds(), {}};
    if (app.health && app.health->listening_fd() >= 0) set.health = {app.health->listening_fd()};
    return set;
  };
  h.successor_ready = [&app](int pid) {
    asio::co_spawn(app.control, hand_over_listeners(&app, pid), log_exception{"upgrade"});
  };
  app.upgrade.emplace(app.control, app.cfg.upgrade.socket, std::move(h));
  app.upgrade->start();
}

// --take-over, once the tokens are there: accept on the inherited sockets,
// become the service's main process, let the predecessor go, and listen for
// a successor in turn. False: a listener failed (logged); the predecessor
// serves on.
bool take_traffic(application& app, const std::string& status) {
  try {
    app.proxy->start();
    if (app.health) app.health->start();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return false;
  }
  notify_ready_as_main(status);
  const int pid = app.taking_over->pid();
  if (app.taking_over->release(std::chrono::seconds(2))) {
    spdlog::info("take-over: serving; pid {} stops accepting and drains", pid);
  } else {
    spdlog::warn("take-over: serving; pid {} did not answer (it may have stopped already)", pid);
  }
  app.taking_over.reset();
  try {
    open_upgrade_socket(app);
  } catch (const std::exception& e) {
    spdlog::warn("{}; a later --take-over cannot reach this process", e.what());
  }
  return true;
}

asio::awaitable<void> start_tokens(application* app) {
  const auto t0 = steady_clock::instance().now();
  auto result = co_await app->tokens->start();
  if (result.what == pool::startup_result::kind::rejected) {
    spdlog::error("DolphinDB rejected the login for user '{}': {}", app->cfg.credential.username,
                  result.message);
    app->exit_code = 1;
    co_await shut_down(app);
    co_return;
  }
  if (result.what != pool::startup_result::kind::ready) co_return;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::instance().now() - t0)
          .count();
  const auto held = app->ctx.pool->counts().total;
  spdlog::info("ready: {} of {} tokens after {} ms", held, app->cfg.pool_slots(), ms);
  // Readiness in systemd's terms: token.min_ready tokens are held
  // (docs/deployment.md#systemd).
  const auto status = "serving, " + std::to_string(held) + " of " +
                      std::to_string(app->cfg.pool_slots()) + " tokens at start";
  if (!app->taking_over) {
    notify_ready(status);
  } else if (!take_traffic(*app, status)) {
    app->exit_code = 1;
    co_await shut_down(app);
  }
}

// SIGUSR2: start the successor from here, so that under systemd it runs in
// the service (docs/operations.md, "Under systemd"). It takes the listeners
// over through upgrade.socket like any --take-over.
void start_successor(application& app) {
  if (app.cfg.upgrade.socket.empty()) {
    spdlog::warn("received SIGUSR2: ignored (it starts a successor when upgrade.socket is set)");
    return;
  }
  if (!app.upgrade || app.stopping) {
    spdlog::warn("received SIGUSR2: ignored while {}",
                 app.stopping ? "shutting down" : "not yet serving");
    return;
  }
  try {
    const auto pid = spawn_successor(app.exe, app.args);
    spdlog::info("received SIGUSR2: started pid {} ({} --take-over) to take over", pid, app.exe);
  } catch (const std::exception& e) {
    spdlog::error("received SIGUSR2: {}", e.what());
  }
}

// A successor that ended before taking over is reaped, and said so.
void reap_children() {
  int status = 0;
  for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
    if (WIFEXITED(status)) {
      spdlog::warn("successor pid {} exited with code {}", pid, WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      spdlog::warn("successor pid {} was killed by signal {}", pid, WTERMSIG(status));
    }
  }
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "a signal";
  }
}

// SIGHUP and POST /admin/reload: the configuration is loaded again and what
// can change live is applied (docs/operations.md, "Reload"); systemd hears
// RELOADING, then READY. False: the new configuration was refused.
bool reload_now(application& app) {
  if (!app.reload_source) {
    spdlog::warn("reload: this tpp was started without a configuration source; nothing changes");
    return false;
  }
  notify_reloading("reloading the configuration");
  const bool ok =
      reload(app.reload_source, {app.ctx, app.credential, *app.tokens, app.failover.get()});
  // The files behind the settings are read again too, whatever their stamps
  // (a copy that kept the modification time is not missed).
  if (app.ctx.tls) app.ctx.tls->reload();
  if (app.health_tls) app.health_tls->reload();
  if (app.ctx.keys) app.ctx.keys->reload_if_changed();
  notify_ready(ok ? "serving; configuration reloaded"
                  : "serving; the last reload failed, the previous configuration stays");
  return ok;
}

// SIGINT and SIGTERM stop tpp, SIGHUP reloads, SIGUSR2 starts a successor
// (when upgrade.socket is set); SIGUSR1 is logged and ignored
// (docs/security.md, "Secrets and signals").
asio::awaitable<void> wait_for_signal(application* app) {
  for (;;) {
    auto [ec, sig] = co_await app->signals.async_wait(use_tuple);
    if (ec) co_return;
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received {}, shutting down (grace {} ms)", signal_name(sig),
                   app->ctx.settings()->shutdown_grace.count());
      break;
    }
    if (sig == SIGHUP && !app->stopping) {
      spdlog::info("received SIGHUP: reloading the configuration");
      reload_now(*app);
      continue;
    }
    if (sig == SIGUSR2) {
      start_successor(*app);
      continue;
    }
    if (sig == SIGCHLD) {
      reap_children();
      continue;
    }
    spdlog::warn("received {}: ignored", signal_name(sig));
  }
  co_await shut_down(app);
}

// Runs the control loop until it runs out of work, and once shutdown has
// begun no later than its hard deadline: a login or a health connection that
// ignores cancellation must not keep tpp alive (docs/proxy.md, "Shutdown").
void run_control(application& app) {
  while (!app.control.stopped()) {
    if (!app.hard_deadline) {
      app.control.run_for(std::chrono::milliseconds(250));
      continue;
    }
    app.control.run_until(*app.hard_deadline);
    if (!app.control.stopped()) {
      spdlog::warn("shutdown: control loop still busy after the grace period; stopping it");
      app.control.stop();
    }
  }
}

// The soft descriptor limit raised to the hard one, and the client
// connection budget that keeps descriptors for /health (docs/security.md,
// "Descriptors").
std::size_t descriptor_budget() {
  const auto fds = raise_fd_limit();
  if (fds.error != 0) {
    spdlog::warn("open files limit: cannot raise it from {}: {}", fds.soft,
                 std::generic_category().message(fds.error));
  } else if (fds.soft != fds.soft_before) {
    spdlog::info("open files limit raised from {} to {}", fds.soft_before, fds.soft);
  }
  const auto budget = client_connection_budget(fds.soft);
  spdlog::debug("open files limit {}: at most {} client connections at once", fds.soft, budget);
  return budget;
}

// OTLP export, when configured. False: the settings are unusable (logged).
bool start_exporter(application& app) {
  const auto& cfg = app.cfg;
  try {
    telemetry::otlp::options opts;
    opts.service_version = TPP_VERSION;
    // The OpenTelemetry SDKs' standard knobs for the two export periods.
    opts.metrics_interval = cfg.telemetry.otel.metric_export_interval;
    opts.export_interval = cfg.telemetry.otel.bsp_schedule_delay;
    app.tracer = telemetry::otlp::exporter::start(
        cfg.telemetry,
        [&app] {
          return metrics::registry::global().collect(admin::to_scrape_inputs(app.health_inputs()));
        },
        opts);
    app.ctx.tracer = app.tracer.get();
    return true;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return false;
  }
}

// The token manager, and the data path's hooks into it.
void start_token_manager(application& app) {
  const auto& cfg = app.cfg;
  pool::token_manager::hooks hooks;
  hooks.on_login = [](dolphindb::login_outcome::kind k, bool is_refresh, double seconds) {
    metrics::registry::global().on_login(metrics_outcome(k), is_refresh, seconds);
  };
  app.tokens = std::make_unique<pool::token_manager>(
      app.control.get_executor(), cfg.token, app.ctx.pool,
      [&app](std::size_t slot) { return node_login(&app, app.ctx.node_of(slot), true); },
      steady_clock::instance(), hooks);
  app.tokens->set_rejected_retry_delay(cfg.credential.rejected_retry);
  app.ctx.hooks.report_auth_failure = [&app](std::size_t slot, std::uint64_t generation) {
    return app.tokens->report_auth_failure(slot, generation);
  };
  app.ctx.hooks.wait_for_install = [&app](std::size_t slot, std::uint64_t generation,
                                          std::chrono::milliseconds timeout) {
    return app.tokens->wait_for_install(slot, generation, timeout);
  };
  app.ctx.hooks.outage = [&app] {
    auto o = app.tokens->outage();
    if (!o && app.failover) o = app.failover->outage();
    return o;
  };
  app.ctx.hooks.report_token_ok = [&app](std::size_t slot, std::uint64_t generation) {
    app.tokens->report_token_ok(slot, generation);
  };
}

// The proxy and health listeners. False: one cannot be opened (logged).
// credential.password_file is watched: a rotated password is used from the
// next login on, and a hold after a rejection ends at once (docs/tokens.md,
// "Password rotation"). Without the watch, a rejected login still re-reads it.
void watch_password_file(application& app) {
  const auto& file = app.cfg.credential.password_file;
  if (file.empty()) return;
  app.password_watch.emplace(app.control.get_executor(), file, [&app] {
    if (app.credential.reread()) app.tokens->credential_changed();
  });
  try {
    app.password_watch->start();
  } catch (const std::exception& e) {
    spdlog::warn(
        "credential: cannot watch {} ({}); a new password in it is read when "
        "DolphinDB rejects the old one",
        file, e.what());
  }
}

// GET /admin/clients lists at most this many waiters (the count is exact).
constexpr std::size_t max_waiters_listed = 1000;

// The admin actions on the health listener (docs/operations.md, "Admin
// actions"); they run on the control thread, as the signals do.
std::shared_ptr<const admin::admin_api> make_admin(application& app) {
  admin::admin_actions act;
  act.reload = [&app] { return !app.stopping && reload_now(app); };
  act.renew_all = [&app] { app.tokens->renew_all(); };
  act.renew_slot = [&app](std::size_t slot) { return app.tokens->renew(slot); };
  act.pause = [&app] { return app.ctx.pool->pause(); };
  act.resume = [&app] { return app.ctx.pool->resume(); };
  act.clients = [&app] {
    const auto& pool = *app.ctx.pool;
    return admin::render_clients_json(pool.slots(), pool.waiters(max_waiters_listed),
                                      pool.counts().waiting, steady_clock::instance().now());
  };
  act.drain = [&app] { asio::co_spawn(app.control, shut_down(&app), log_exception{"drain"}); };
  return std::make_shared<const admin::admin_api>(
      [&app] { return app.ctx.settings()->admin.token_file; },
      config::is_loopback_host(app.cfg.health_listen->host), std::move(act));
}

bool open_listeners(application& app) {
  const auto& cfg = app.cfg;
  app.proxy = std::make_unique<proxy::server>(app.ctx);
  auto inherited = app.taking_over ? app.taking_over->take_listeners() : listener_set{};
  try {
    app.proxy->listen(inherited.proxy);
    if (cfg.health_listen) {
      admin::health_server_options hopts;
      hopts.max_connections = cfg.health_max_connections;
      hopts.read_timeout = cfg.health_idle_timeout;
      hopts.detail_allow = cfg.health_allow;
      hopts.tls = app.health_tls;
      hopts.admin = make_admin(app);
      if (!inherited.health.empty()) hopts.inherited_fd = std::exchange(inherited.health[0], -1);
      app.health.emplace(
          app.control, *cfg.health_listen, [&app] { return app.health_inputs(); }, hopts);
      // A successor takes no traffic on either listener before it is ready.
      if (!app.taking_over) app.health->start();
    }
    for (int fd : inherited.health) {
      if (fd >= 0) ::close(fd);  // health_listen is off now
    }
    if (!app.taking_over) open_upgrade_socket(app);
    return true;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return false;
  }
}

// clients.keys_file and the health_tls files are looked at once a second and
// re-read when they changed (docs/security.md, "Client API keys" and "TLS on
// the health listener"): no restart to add or revoke a key or to renew a
// certificate. The proxy listener's own certificate is polled by its first
// worker (proxy/worker.cpp).
asio::awaitable<void> poll_files(application* app) {
  auto& timer = *app->file_poll;
  for (;;) {
    timer.expires_after(1s);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec || app->stopping) co_return;
    if (app->ctx.keys) app->ctx.keys->reload_if_changed();
    if (app->health_tls) app->health_tls->reload_if_changed();
  }
}

// The client keys, when clients.keys_file is set. False: unreadable (logged).
bool load_keys(application& app) {
  const auto& path = app.cfg.clients.keys_file;
  if (path.empty()) return true;
  try {
    app.ctx.keys = std::make_shared<access::key_store>(path);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return false;
  }
  spdlog::info("clients.keys_file {}: {} keys; every request must carry one", path,
               app.ctx.keys->size());
  return true;
}

void start_file_poll(application& app) {
  if (!app.ctx.keys && !app.health_tls) return;
  app.file_poll.emplace(app.control);
  asio::co_spawn(app.control, poll_files(&app), log_exception{"file reload"});
}

// The upstream as the start-up line names it: its URL, or the nodes.
std::string upstream_text(const config::upstream_config& up) {
  if (up.nodes.size() < 2) return up.url();
  std::string text = std::to_string(up.nodes.size()) + " nodes (";
  for (const auto& n : up.nodes) text += (&n == &up.nodes.front() ? "" : ", ") + n.label;
  return text + "; pool_size counts per node)";
}

// Serves until a signal ends it, then drains within the grace period.
void serve(application& app) {
  const auto& cfg = app.cfg;
  spdlog::info("tpp {} listening on {} ({} workers), health on {}, upstream {}, pool_size {}",
               TPP_VERSION, cfg.listen.to_string(), app.proxy->worker_count(),
               cfg.health_listen ? cfg.health_listen->to_string() : std::string("(off)"),
               upstream_text(cfg.upstream), cfg.token.pool_per_node());
  // A successor accepts once it holds its tokens; its predecessor serves
  // until then (take_traffic).
  if (!app.taking_over) app.proxy->start();
  notify_status("logging in to DolphinDB");
  asio::co_spawn(app.control, wait_for_signal(&app), log_exception{"signal handling"});
  asio::co_spawn(app.control, start_tokens(&app), log_exception{"start-up logins"});
  run_control(app);
  app.proxy->force_close();
  const auto hard_deadline =
      app.hard_deadline.value_or(std::chrono::steady_clock::now() + shutdown_margin);
  if (const auto n = app.proxy->join_until(hard_deadline); n > 0) {
    spdlog::warn("shutdown: {} worker loop(s) still busy after the grace period; stopped them", n);
  }
  if (app.tracer) app.tracer->flush_and_stop(std::chrono::seconds(2));
}

// upstream.nodes with two or more nodes: a token slot per node in turn,
// placement by the pool, and failover (docs/cluster.md). One node keeps the
// single-upstream path exactly as it was.
void start_failover(application& app) {
  const auto& nodes = app.cfg.upstream.nodes;
  if (nodes.size() < 2) return;
  std::vector<std::uint32_t> weights;
  for (const auto& n : nodes) weights.push_back(n.weight);
  app.ctx.pool->set_nodes(std::move(weights));
  app.failover = std::make_unique<pool::node_failover>(nodes, app.ctx.pool, *app.tokens,
                                                       steady_clock::instance());
  app.ctx.report_node_failure = [&app](std::size_t node) {
    app.failover->on_connect_failure(node);
  };
  asio::co_spawn(app.control, app.failover->run_probes([&app](std::size_t node) {
    return node_login(&app, node, false);
  }),
                 log_exception{"node probes"});
}

}  // namespace

// --take-over: the running tpp's listeners, before anything else starts.
bool contact_predecessor(application& app) {
  try {
    app.taking_over = predecessor::connect(app.cfg.upgrade.socket, std::chrono::seconds(5));
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return false;
  }
  spdlog::info("take-over: pid {} handed its listeners over; it serves until this one is ready",
               app.taking_over->pid());
  return true;
}

int run(const config::config& cfg, const run_options& opts) {
  std::signal(SIGPIPE, SIG_IGN);
  application app(cfg, opts);
  if (opts.take_over && !contact_predecessor(app)) return 1;
  auto& ctx = app.ctx;
  ctx.cfg = cfg;
  ctx.max_client_connections = descriptor_budget();
  try {
    if (cfg.upstream.tls) ctx.set_upstream_tls(net::make_client_tls_context(cfg.upstream));
    if (cfg.server_tls.enabled()) ctx.tls = std::make_shared<net::server_tls>(cfg.server_tls);
    if (cfg.health_tls.enabled())
      app.health_tls = std::make_shared<net::server_tls>(cfg.health_tls);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  ctx.pool = pool::token_pool::create(cfg.pool_slots(), steady_clock::instance());
  ctx.pool->set_max_per_client(cfg.token.max_per_client);
  if (!start_exporter(app)) return 1;
  // Its TLS context is ctx.upstream_tls(), which a reload may replace.
  ctx.upstream = node_target(cfg.upstream.nodes.front(), cfg.upstream.connect_timeout);
  if (cfg.upstream.nodes.size() > 1) {
    for (std::size_t i = 0; i < cfg.upstream.nodes.size(); ++i) {
      ctx.nodes.set(i, node_target(cfg.upstream.nodes[i], cfg.upstream.connect_timeout));
    }
  }
  if (!cfg.token.invalid_body_pattern.empty()) {
    ctx.invalid_body_pattern.emplace(cfg.token.invalid_body_pattern);
  }
  start_token_manager(app);
  start_failover(app);
  watch_password_file(app);
  for (const auto& w : config::exposure_warnings(cfg)) spdlog::warn("{}", w);
  if (!load_keys(app)) return 1;
  start_file_poll(app);
  if (!open_listeners(app)) return 1;
  serve(app);
  spdlog::info("tpp stopped");
  return app.exit_code;
}

}  // namespace tpp::app
