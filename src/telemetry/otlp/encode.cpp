#include "telemetry/otlp/encode.hpp"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace tpp::telemetry::otlp::detail {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace otlp_metrics = opentelemetry::proto::metrics::v1;

void set_value(common::AnyValue* out, const attr_value& v) {
  std::visit(
      [out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          out->set_string_value(x);
        else if constexpr (std::is_same_v<T, std::int64_t>)
          out->set_int_value(x);
        else if constexpr (std::is_same_v<T, double>)
          out->set_double_value(x);
        else
          out->set_bool_value(x);
      },
      v);
}

template <typename Repeated>
void add_attributes(Repeated* out, const resource_attributes& attrs) {
  for (const auto& [k, v] : attrs) {
    auto* kv = out->Add();
    kv->set_key(k);
    set_value(kv->mutable_value(), v);
  }
}

template <typename Repeated>
void add_labels(Repeated* out, const tpp::metrics::label_set& labels) {
  for (const auto& [k, v] : labels) {
    auto* kv = out->Add();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  }
}

template <std::size_t N>
std::string bytes_of(const std::array<std::uint8_t, N>& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), N);
}

void fill_scope(common::InstrumentationScope* scope, const std::string& version) {
  scope->set_name("tpp");
  scope->set_version(version);
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::string base64_to_hex(const std::string& b64) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  unsigned acc = 0;
  int bits = 0;
  for (char c : b64) {
    int v = base64_value(c);
    if (v < 0) continue;  // '=' padding
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      unsigned byte = (acc >> bits) & 0xffu;
      hex.push_back(digits[byte >> 4]);
      hex.push_back(digits[byte & 0xf]);
    }
  }
  return hex;
}

void ids_to_hex(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items()) {
      if ((key == "traceId" || key == "spanId" || key == "parentSpanId") && value.is_string())
        value = base64_to_hex(value.get<std::string>());
      else
        ids_to_hex(value);
    }
  } else if (j.is_array()) {
    for (auto& e : j) ids_to_hex(e);
  }
}

}  // namespace

collector_trace::ExportTraceServiceRequest make_trace_request(const resource_attributes& resource,
                                                              const std::vector<span_data>& spans,
                                                              const std::string& scope_version) {
  collector_trace::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  add_attributes(rs->mutable_resource()->mutable_attributes(), resource);
  auto* ss = rs->add_scope_spans();
  fill_scope(ss->mutable_scope(), scope_version);
  ss->mutable_spans()->Reserve(static_cast<int>(spans.size()));
  for (const auto& s : spans) {
    auto* out = ss->add_spans();
    out->set_trace_id(bytes_of(s.trace_id));
    out->set_span_id(bytes_of(s.span_id));
    bool root = true;
    for (auto b : s.parent_span_id) root = root && b == 0;
    if (!root) out->set_parent_span_id(bytes_of(s.parent_span_id));
    out->set_name(s.name);
    out->set_kind(trace::Span::SpanKind_IsValid(s.kind) ? static_cast<trace::Span::SpanKind>(s.kind)
                                                        : trace::Span::SPAN_KIND_INTERNAL);
    out->set_start_time_unix_nano(s.start_unix_ns);
    out->set_end_time_unix_nano(s.end_unix_ns);
    add_attributes(out->mutable_attributes(), s.attributes);
    if (s.status_code != 0 || !s.status_message.empty()) {
      auto* st = out->mutable_status();
      st->set_code(trace::Status::StatusCode_IsValid(s.status_code)
                       ? static_cast<trace::Status::StatusCode>(s.status_code)
                       : trace::Status::STATUS_CODE_UNSET);
      st->set_message(s.status_message);
    }
  }
  return req;
}

collector_metrics::ExportMetricsServiceRequest make_metrics_request(
    const resource_attributes& resource, const tpp::metrics::snapshot& snap,
    std::uint64_t start_unix_ns, std::uint64_t now_unix_ns, const std::string& scope_version) {
  collector_metrics::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  add_attributes(rm->mutable_resource()->mutable_attributes(), resource);
  auto* sm = rm->add_scope_metrics();
  fill_scope(sm->mutable_scope(), scope_version);
  using tpp::metrics::metric_type;
  for (const auto& f : snap.families) {
    if (f.numbers.empty() && f.histograms.empty()) continue;
    auto* m = sm->add_metrics();
    m->set_name(f.name);
    m->set_description(f.help);
    m->set_unit(f.unit);
    switch (f.type) {
      case metric_type::counter: {
        auto* sum = m->mutable_sum();
        sum->set_aggregation_temporality(otlp_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
        sum->set_is_monotonic(true);
        for (const auto& p : f.numbers) {
          auto* dp = sum->add_data_points();
          add_labels(dp->mutable_attributes(), p.labels);
          dp->set_start_time_unix_nano(start_unix_ns);
          dp->set_time_unix_nano(now_unix_ns);
          dp->set_as_double(tpp::metrics::as_double(p.value));
        }
        break;
      }
      case metric_type::gauge: {
        auto* g = m->mutable_gauge();
        for (const auto& p : f.numbers) {
          auto* dp = g->add_data_points();
          add_labels(dp->mutable_attributes(), p.labels);
          dp->set_time_unix_nano(now_unix_ns);
          dp->set_as_double(tpp::metrics::as_double(p.value));
        }
        break;
      }
      case metric_type::histogram: {
        auto* h = m->mutable_histogram();
        h->set_aggregation_temporality(otlp_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
        for (const auto& p : f.histograms) {
          auto* dp = h->add_data_points();
          add_labels(dp->mutable_attributes(), p.labels);
          dp->set_start_time_unix_nano(start_unix_ns);
          dp->set_time_unix_nano(now_unix_ns);
          dp->set_count(p.count);
          dp->set_sum(p.sum);
          for (auto c : p.counts) dp->add_bucket_counts(c);
          for (auto b : p.bounds) dp->add_explicit_bounds(b);
        }
        break;
      }
    }
  }
  return req;
}

std::string to_otlp_json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_enums_as_ints = true;
  opts.preserve_proto_field_names = false;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(m, &out, opts);
  if (!status.ok()) throw std::runtime_error("OTLP JSON encoding failed: " + status.ToString());
  auto j = nlohmann::json::parse(out);
  ids_to_hex(j);
  return j.dump();
}

}  // namespace tpp::telemetry::otlp::detail
