// OTLP/gRPC through Debian's libgrpc++: one channel per signal, kept for the
// exporter's life; a unary Export call per batch with the batch's deadline.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <mutex>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "telemetry/otlp/sender.hpp"

namespace tpp::telemetry::otlp::detail {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;
namespace cm = opentelemetry::proto::collector::metrics::v1;

class grpc_sender final : public sender {
 public:
  grpc_sender(const signal_settings& s, signal which) : settings_(s), which_(which) {
    std::string host =
        s.target.host.find(':') != std::string::npos ? "[" + s.target.host + "]" : s.target.host;
    std::string target = host + ":" + std::to_string(s.target.port);
    auto creds = s.target.tls ? grpc::SslCredentials(grpc::SslCredentialsOptions{})
                              : grpc::InsecureChannelCredentials();
    grpc::ChannelArguments args;
    args.SetUserAgentPrefix("tpp-otlp-exporter");
    // A collector that is down should not be hammered, nor should the channel
    // wait long after it comes back.
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    channel_ = grpc::CreateCustomChannel(target, creds, args);
    if (which_ == signal::traces)
      traces_ = ct::TraceService::NewStub(channel_);
    else
      metrics_ = cm::MetricsService::NewStub(channel_);
  }

  send_result send(const google::protobuf::Message& request,
                   std::chrono::steady_clock::time_point deadline) override {
    grpc::ClientContext ctx;
    {
      std::lock_guard lock(mutex_);
      if (cancelled_) return {false, "exporter stopping"};
      current_ = &ctx;
    }
    ctx.set_deadline(std::chrono::system_clock::now() +
                     (deadline - std::chrono::steady_clock::now()));
    for (const auto& [k, v] : settings_.headers) ctx.AddMetadata(k, v);
    grpc::Status status;
    if (which_ == signal::traces) {
      ct::ExportTraceServiceResponse resp;
      status =
          traces_->Export(&ctx, static_cast<const ct::ExportTraceServiceRequest&>(request), &resp);
    } else {
      cm::ExportMetricsServiceResponse resp;
      status = metrics_->Export(&ctx, static_cast<const cm::ExportMetricsServiceRequest&>(request),
                                &resp);
    }
    {
      std::lock_guard lock(mutex_);
      current_ = nullptr;
    }
    if (status.ok()) return {true, {}};
    return {false, "gRPC " + std::to_string(static_cast<int>(status.error_code())) + ": " +
                       status.error_message()};
  }

  void cancel() override {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    if (current_) current_->TryCancel();
  }

 private:
  signal_settings settings_;
  signal which_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ct::TraceService::Stub> traces_;
  std::unique_ptr<cm::MetricsService::Stub> metrics_;
  std::mutex mutex_;
  bool cancelled_ = false;
  grpc::ClientContext* current_ = nullptr;
};

}  // namespace

std::unique_ptr<sender> make_grpc_sender(const signal_settings& s, signal which) {
  return std::make_unique<grpc_sender>(s, which);
}

}  // namespace tpp::telemetry::otlp::detail
