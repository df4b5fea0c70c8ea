#include "pw/io/tcp.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pw/base/assert.h"

namespace pw::io {

// The heap part of a TcpStream. It lives until libuv's close callback, so write and read
// callbacks that arrive after the TcpStream is gone find `owner == nullptr` and do nothing.
struct TcpStream::Impl {
  uv_tcp_t tcp{};  // data points at this Impl
  Loop* loop = nullptr;
  Stream::Handler* handler = nullptr;
  WriteLimits limits;
  std::size_t pending = 0;  // bytes copied into uv_write requests not yet completed
  bool closed = false;
  bool reading = false;
  bool blocked = false;
  bool shut = false;
};

namespace {

struct WriteReq {
  uv_write_t req{};
  TcpStream::Impl* impl = nullptr;
  std::size_t len = 0;
  std::unique_ptr<char[]> data;
};

using Impl = TcpStream::Impl;

void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* impl = static_cast<Impl*>(h->data);
  auto scratch = impl->loop->read_scratch();
  buf->base = scratch.data();
  buf->len = scratch.size();
}

void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* impl = static_cast<Impl*>(s->data);
  if (impl->closed || impl->handler == nullptr) return;
  if (nread > 0) {
    impl->handler->on_data(std::string_view(buf->base, static_cast<std::size_t>(nread)));
  } else if (nread == UV_EOF) {
    uv_read_stop(s);
    impl->reading = false;
    impl->handler->on_eof();
  } else if (nread < 0) {
    uv_read_stop(s);
    impl->reading = false;
    auto* h = impl->handler;
    impl->handler = nullptr;
    h->on_error(uv_error(static_cast<int>(nread), "read"));
  }
}

void on_write(uv_write_t* req, int status) {
  std::unique_ptr<WriteReq> w(static_cast<WriteReq*>(req->data));
  Impl* impl = w->impl;
  impl->pending -= w->len;
  if (impl->closed || impl->handler == nullptr) return;
  if (status < 0) {
    auto* h = impl->handler;
    impl->handler = nullptr;
    h->on_error(uv_error(status, "write"));
    return;
  }
  if (impl->blocked && impl->pending <= impl->limits.low_watermark) {
    impl->blocked = false;
    impl->handler->on_write_drained();
  }
}

}  // namespace

TcpStream::TcpStream(Loop& loop, uv_tcp_t* handle, WriteLimits limits) : loop_(loop), limits_(limits) {
  // Move the accepted handle into our Impl: libuv handles cannot be moved, so callers give us
  // a handle allocated as the first member of an Impl (see adopt below).
  impl_ = reinterpret_cast<Impl*>(handle);
  impl_->loop = &loop;
  impl_->limits = limits;
  impl_->tcp.data = impl_;
}

TcpStream::~TcpStream() { close(); }

void TcpStream::set_handler(Handler* h) noexcept {
  if (impl_ && !impl_->closed) impl_->handler = h;
}

void TcpStream::read_start() {
  if (!impl_ || impl_->closed || impl_->reading) return;
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&impl_->tcp), on_alloc, on_read);
  if (rc == 0) impl_->reading = true;
}

void TcpStream::read_stop() {
  if (!impl_ || impl_->closed || !impl_->reading) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&impl_->tcp));
  impl_->reading = false;
}

Status TcpStream::write(std::span<const std::string_view> slices) {
  if (!impl_ || impl_->closed) return make_error(Errc::closed, "write on a closed stream");
  if (impl_->shut) return make_error(Errc::closed, "write after shutdown");
  constexpr std::size_t kMaxSlices = 64;
  uv_buf_t bufs[kMaxSlices];
  std::size_t n = 0, total = 0;
  if (slices.size() > kMaxSlices) return make_error(Errc::invalid_argument, "too many slices in one write");
  for (auto s : slices) {
    if (s.empty()) continue;
    bufs[n++] = uv_buf_init(const_cast<char*>(s.data()), static_cast<unsigned>(s.size()));
    total += s.size();
  }
  if (total == 0) return {};
  std::size_t written = 0;
  auto* stream = reinterpret_cast<uv_stream_t*>(&impl_->tcp);
  if (impl_->pending == 0) {  // nothing queued: the kernel may take it all with no copy
    int rc = uv_try_write(stream, bufs, static_cast<unsigned>(n));
    if (rc >= 0) written = static_cast<std::size_t>(rc);
    else if (rc != UV_EAGAIN) return uv_error(rc, "write");
  }
  std::size_t rest = total - written;
  if (rest == 0) return {};
  // The hard limit stops writers that ignore the watermark; one write on an idle stream is
  // always taken (its bytes are already in the caller's memory: at most a copy of them).
  if (impl_->pending > 0 && impl_->pending + rest > limits_.max_pending)
    return make_error(Errc::limit_exceeded, "write buffer limit of " + std::to_string(limits_.max_pending) +
                                                " bytes exceeded");
  auto w = std::make_unique<WriteReq>();
  w->impl = impl_;
  w->len = rest;
  w->data.reset(new char[rest]);
  std::size_t skip = written, off = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t len = bufs[i].len;
    if (skip >= len) { skip -= len; continue; }
    std::memcpy(w->data.get() + off, bufs[i].base + skip, len - skip);
    off += len - skip;
    skip = 0;
  }
  uv_buf_t one = uv_buf_init(w->data.get(), static_cast<unsigned>(rest));
  w->req.data = w.get();
  int rc = uv_write(&w->req, stream, &one, 1, on_write);
  if (rc < 0) return uv_error(rc, "write");
  w.release();
  impl_->pending += rest;
  if (!impl_->blocked && impl_->pending > limits_.high_watermark) {
    impl_->blocked = true;
    if (impl_->handler) impl_->handler->on_write_blocked();
  }
  return {};
}

namespace {
struct ShutdownReq {
  uv_shutdown_t req{};
  TcpStream::Impl* impl = nullptr;
  std::function<void()> flushed;
};
}  // namespace

void TcpStream::shutdown(std::function<void()> flushed) {
  if (!impl_ || impl_->closed || impl_->shut) return;
  impl_->shut = true;
  auto* r = new ShutdownReq;
  r->impl = impl_;
  r->flushed = std::move(flushed);
  r->req.data = r;
  // libuv completes a shutdown only after every queued write request has completed. The Impl
  // outlives this request: libuv cancels it before the handle's close callback frees the Impl.
  int rc = uv_shutdown(&r->req, reinterpret_cast<uv_stream_t*>(&impl_->tcp), [](uv_shutdown_t* req, int status) {
    std::unique_ptr<ShutdownReq> r(static_cast<ShutdownReq*>(req->data));
    Impl* impl = r->impl;
    if (impl->closed) return;
    if (status == 0) {
      if (r->flushed) r->flushed();
      return;
    }
    // The FIN could not be sent (ENOTCONN, EPIPE: the peer reset the connection, often while
    // reading had stopped, so no read reports it). A failure must reach the handler: an owner
    // waiting for `flushed` would otherwise wait for ever.
    if (status == UV_ECANCELED || impl->handler == nullptr) return;
    auto* h = impl->handler;
    impl->handler = nullptr;
    h->on_error(uv_error(status, "shutdown"));
  });
  if (rc < 0) delete r;
}

void TcpStream::close() {
  if (impl_ == nullptr || impl_->closed) return;
  impl_->closed = true;
  impl_->handler = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&impl_->tcp), [](uv_handle_t* h) { delete static_cast<Impl*>(h->data); });
  impl_ = nullptr;  // freed by the close callback: never touched again
}

std::size_t TcpStream::pending_write_bytes() const noexcept { return impl_ ? impl_->pending : 0; }

SockAddr TcpStream::peer_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (!impl_ || impl_->closed || uv_tcp_getpeername(&impl_->tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

SockAddr TcpStream::local_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (!impl_ || impl_->closed || uv_tcp_getsockname(&impl_->tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

Status TcpStream::set_nodelay(bool on) {
  if (!impl_) return make_error(Errc::closed, "TCP_NODELAY on a closed stream");
  int rc = uv_tcp_nodelay(&impl_->tcp, on ? 1 : 0);
  if (rc < 0) return uv_error(rc, "TCP_NODELAY");
  return {};
}

namespace {
// A fresh uv_tcp_t inside a new Impl, ready to hand to TcpStream.
uv_tcp_t* new_tcp_handle(Loop& loop) {
  auto* impl = new TcpStream::Impl;
  impl->loop = &loop;
  PW_CHECK(uv_tcp_init(loop.uv(), &impl->tcp) == 0);
  impl->tcp.data = impl;
  return &impl->tcp;
}
void free_unstarted(uv_tcp_t* h) {
  uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* x) { delete static_cast<TcpStream::Impl*>(x->data); });
}
}  // namespace

// ---- listener ----

namespace {

Error listen_error(const SockAddr& addr, int e) {
  if (e == EADDRINUSE)
    return make_error(Errc::io_error, "listen on " + addr.to_string() + ": address already in use", e);
  return make_error(Errc::io_error, "listen on " + addr.to_string() + ": " + std::strerror(e), e);
}

// One socket; with reuse_port others may join it on the same port.
Result<int> bind_one(const SockAddr& addr, const ListenOptions& opt, bool reuse_port, bool listen) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io_error, std::string("socket: ") + std::strerror(errno), errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT remnants do not block a restart
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int e = errno;
    ::close(fd);
    return make_error(Errc::io_error, std::string("SO_REUSEPORT: ") + std::strerror(e), e);
  }
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, addr.get(), addr.size()) != 0 || (listen && ::listen(fd, opt.backlog) != 0)) {
    int e = errno;
    ::close(fd);
    return listen_error(addr, e);
  }
  return fd;
}

}  // namespace

Result<ListenGroup> bind_listen_group(const SockAddr& addr, const ListenOptions& opt, unsigned count) {
  if (count == 0) count = 1;
  const bool reuse = opt.reuse_port || count > 1;
  // Linux lets any socket of the same user join a SO_REUSEPORT group, so a second instance
  // would start "successfully" and steal part of the traffic. A socket without SO_REUSEPORT
  // cannot bind where another one listens: bind one first, as a probe. (A second process that
  // binds in the instant between the probe's close and our bind is not caught.)
  if (reuse && addr.port() != 0) {
    auto probe = bind_one(addr, opt, false, false);
    if (!probe) return std::move(probe).error();
    ::close(*probe);
  }
  ListenGroup g;
  auto close_all = [&g] {
    for (int fd : g.fds) ::close(fd);
  };
  auto first = bind_one(addr, opt, reuse, true);
  if (!first) return std::move(first).error();
  g.fds.push_back(*first);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(*first, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    int e = errno;
    close_all();
    return make_error(Errc::io_error, std::string("getsockname: ") + std::strerror(e), e);
  }
  g.address = SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  for (unsigned i = 1; i < count; ++i) {
    auto fd = bind_one(g.address, opt, true, true);
    if (!fd) {
      close_all();
      return std::move(fd).error();
    }
    g.fds.push_back(*fd);
  }
  return g;
}

Result<int> bind_listen_socket(const SockAddr& addr, const ListenOptions& opt) {
  auto g = bind_listen_group(addr, opt, 1);
  if (!g) return std::move(g).error();
  return g->fds.front();
}

TcpListener::TcpListener(Loop& loop, const ListenOptions& opt, AcceptCb cb)
    : loop_(loop), opt_(opt), cb_(std::move(cb)) {}

Result<std::unique_ptr<TcpListener>> TcpListener::open(Loop& loop, int fd, const ListenOptions& opt, AcceptCb cb) {
  std::unique_ptr<TcpListener> l(new TcpListener(loop, opt, std::move(cb)));
  l->h_ = new uv_tcp_t;
  PW_CHECK(uv_tcp_init(loop.uv(), l->h_) == 0);
  l->h_->data = l.get();
  int rc = uv_tcp_open(l->h_, fd);
  if (rc < 0) {
    ::close(fd);  // not adopted by the handle
    l->close();
    return uv_error(rc, "listen");
  }
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(l->h_), opt.backlog, &TcpListener::on_connection);
  if (rc < 0) {
    l->close();
    return uv_error(rc, "listen");
  }
  return l;
}

Result<std::unique_ptr<TcpListener>> TcpListener::listen(Loop& loop, const SockAddr& addr, const ListenOptions& opt,
                                                         AcceptCb cb) {
  auto fd = bind_listen_socket(addr, opt);
  if (!fd) return std::move(fd).error();
  return open(loop, *fd, opt, std::move(cb));
}

TcpListener::~TcpListener() { close(); }

void TcpListener::close() {
  close_and_delete(h_);
  h_ = nullptr;
}

SockAddr TcpListener::local_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (h_ == nullptr || uv_tcp_getsockname(h_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

void TcpListener::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpListener*>(server->data);
  if (self == nullptr) return;
  if (status < 0) {
    ++self->accept_errors_;
    return;
  }
  uv_tcp_t* h = new_tcp_handle(self->loop_);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(h)) != 0) {
    ++self->accept_errors_;
    free_unstarted(h);
    return;
  }
  ++self->accepted_;
  std::unique_ptr<TcpStream> s(new TcpStream(self->loop_, h, self->opt_.write_limits));
  if (self->opt_.nodelay) (void)s->set_nodelay(true);
  self->cb_(std::move(s));
}

// ---- connector ----

struct Connector::Attempt {
  uv_connect_t req{};
  uv_tcp_t* tcp = nullptr;
  uv_timer_t* timer = nullptr;
  Connector* owner = nullptr;
  ConnectCb cb;
  bool timed_out = false;
};

Connector::Connector(Loop& loop, WriteLimits limits) : loop_(loop), limits_(limits) {}
Connector::~Connector() { cancel(); }

Status Connector::connect(const SockAddr& addr, Duration timeout, ConnectCb cb) {
  cancel();
  auto* a = new Attempt;
  a->owner = this;
  a->cb = std::move(cb);
  a->tcp = new_tcp_handle(loop_);
  a->req.data = a;
  int rc = uv_tcp_connect(&a->req, a->tcp, addr.get(), [](uv_connect_t* req, int status) {
    auto* a = static_cast<Attempt*>(req->data);
    close_and_delete(a->timer);
    a->timer = nullptr;
    Connector* owner = a->owner;
    if (owner == nullptr) {  // cancelled: the handle was closed by cancel()
      delete a;
      return;
    }
    owner->attempt_ = nullptr;
    ConnectCb cb = std::move(a->cb);
    if (status < 0) {
      bool to = a->timed_out;
      if (a->tcp) free_unstarted(a->tcp);
      delete a;
      if (to) cb(make_error(Errc::timeout, "connect: timed out"));
      else cb(uv_error(status, "connect"));
      return;
    }
    std::unique_ptr<TcpStream> s(new TcpStream(owner->loop_, a->tcp, owner->limits_));
    (void)s->set_nodelay(true);
    delete a;
    cb(std::move(s));
  });
  if (rc < 0) {
    free_unstarted(a->tcp);
    delete a;
    return uv_error(rc, "connect to " + addr.to_string());
  }
  if (timeout > Duration::zero()) {
    a->timer = new uv_timer_t;
    uv_timer_init(loop_.uv(), a->timer);
    a->timer->data = a;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    uv_timer_start(
        a->timer,
        [](uv_timer_t* t) {
          auto* a = static_cast<Attempt*>(t->data);
          if (a == nullptr) return;
          a->timed_out = true;
          // Closing the handle makes libuv call the connect callback with UV_ECANCELED.
          uv_close(reinterpret_cast<uv_handle_t*>(a->tcp),
                   [](uv_handle_t* x) { delete static_cast<TcpStream::Impl*>(x->data); });
          a->tcp = nullptr;
        },
        static_cast<std::uint64_t>(ms), 0);
  }
  attempt_ = a;
  return {};
}

void Connector::cancel() {
  Attempt* a = attempt_;
  if (a == nullptr) return;
  attempt_ = nullptr;
  a->owner = nullptr;
  a->cb = nullptr;
  close_and_delete(a->timer);
  a->timer = nullptr;
  if (a->tcp) {
    uv_close(reinterpret_cast<uv_handle_t*>(a->tcp),
             [](uv_handle_t* x) { delete static_cast<TcpStream::Impl*>(x->data); });
    a->tcp = nullptr;
  }
}

}  // namespace pw::io
