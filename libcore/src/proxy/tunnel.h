// Internal: a byte pipe between the client's and the upstream's streams after a 101 (WebSocket
// and other upgrades, RFC 9110 §7.8).
#pragma once

#include <memory>
#include <string_view>

#include "pw/http/client_connection.h"
#include "pw/http/pool.h"
#include "pw/http/server.h"
#include "worker_state.h"

namespace pw::proxy {

// What a tunnel holds until it closes, so that an upgraded connection keeps counting where the
// request did: the client connection under the listener's max_connections, the listener's
// tunnel slot (max_tunnels), the cluster's active request (circuit_breakers.max_requests), the
// upstream connection's lease in its pool (circuit_breakers.max_connections) and the
// endpoint's active request (least_request).
struct TunnelHolds {
  http::ConnectionSlot downstream;
  std::shared_ptr<TunnelSlots> slots;  // with a slot taken for `listener`
  std::size_t listener = 0;
  telemetry::Gauge* open = nullptr;
  std::shared_ptr<Worker::State> st;  // keeps the cluster state and the pool alive
  ClusterState* cluster = nullptr;    // with an active request taken
  EndpointState* endpoint = nullptr;  // with an active request started
  std::shared_ptr<http::ConnectionPool> pool;
  http::Endpoint pool_endpoint;
  std::unique_ptr<http::ClientConnection> leased;  // the husk whose stream the tunnel took

  void release();
};

// Backpressure each way and an idle timeout. Owns itself (deleted through the loop's deferred
// deletion when it closes); registered with its worker (WorkerContext::tunnels), which closes
// the ones still open when it shuts down.
class Tunnel final : public io::Deletable {
 public:
  Tunnel(std::shared_ptr<WorkerContext> ctx, std::unique_ptr<io::Stream> a, std::unique_ptr<io::Stream> b, Duration idle,
         TunnelHolds holds);
  ~Tunnel() override;
  // Writes what each side sent after its head (to_b: the client's bytes for the upstream), then
  // starts reading both.
  void start(std::string_view to_b, std::string_view to_a);
  void close();

 private:
  struct Side final : io::Stream::Handler {
    Tunnel* t = nullptr;
    int i = 0;
    void on_data(std::string_view d) override { t->data(i, d); }
    void on_eof() override { t->eof(i); }
    void on_error(const Error&) override { t->close(); }
    void on_write_drained() override {
      if (!t->closed_ && !t->eof_[1 - i]) t->s_[1 - i]->read_start();
    }
  };
  void touch();
  void data(int i, std::string_view d);
  void eof(int i);

  std::shared_ptr<WorkerContext> ctx_;  // destroyed last: the destructor unregisters from it
  Duration idle_;
  io::Timer timer_;
  std::unique_ptr<io::Stream> s_[2];
  Side side_[2];
  bool eof_[2] = {false, false};
  bool flushed_[2] = {false, false};
  bool closed_ = false;
  TunnelHolds holds_;
};

}  // namespace pw::proxy
