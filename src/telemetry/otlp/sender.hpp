#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "telemetry/otlp/settings.hpp"

namespace google::protobuf {
class Message;
}

namespace tpp::telemetry::otlp::detail {

enum class signal { traces, metrics };

struct send_result {
  bool ok = false;
  std::string error;  // why it failed, for the log
  // The collector's Retry-After on 429/503 (OTLP/HTTP), when it sent one.
  std::optional<std::chrono::milliseconds> retry_after{};
};

// Sends one OTLP export request to the collector of one signal. Used from one
// thread (the exporter's); only cancel() may be called from another.
class sender {
 public:
  virtual ~sender() = default;
  // Blocks until the collector answered, the deadline passed, or cancel().
  // ok only for a success answer (HTTP 2xx / gRPC OK).
  virtual send_result send(const google::protobuf::Message& request,
                           std::chrono::steady_clock::time_point deadline) = 0;
  // Aborts the send in progress; every later send fails at once. Any thread.
  virtual void cancel() = 0;
};

// OTLP/HTTP (protobuf or JSON body) or OTLP/gRPC, per s.proto.
std::unique_ptr<sender> make_sender(const signal_settings& s, signal which);

std::unique_ptr<sender> make_http_sender(const signal_settings& s);
std::unique_ptr<sender> make_grpc_sender(const signal_settings& s, signal which);

}  // namespace tpp::telemetry::otlp::detail
