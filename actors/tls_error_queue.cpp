// CAF 0.17's openssl sessions (libcaf_openssl) call SSL_read, SSL_write, SSL_connect and
// SSL_accept without clearing OpenSSL's per-thread error queue first, and never drain it after
// a failure. All sessions run on the middleman's one thread, so the error of one refused
// handshake, garbage on the port or a peer that went away stayed queued, and the next I/O call
// of a healthy connection that had to wait (SSL_ERROR_WANT_READ: the rest of a record) was read
// by SSL_get_error as SSL_ERROR_SSL: CAF closed it, and a job lost a node to a `herd ctl status`.
// OpenSSL's rule (SSL_get_error(3)): the queue must be empty before each I/O call.
//
// These definitions, exported from the herd binary, come first in the dynamic linker's lookup,
// so libcaf_openssl's calls reach them: they clear the queue and call OpenSSL's own function.
#include "actors/tls_error_queue.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class F>
F next_definition(const char* name) {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (f == nullptr) { // libssl is linked: cannot happen short of a broken installation
    std::fprintf(stderr, "herd: %s not found in libssl\n", name);
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static const auto real = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static const auto real = next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static const auto real = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  static const auto real = next_definition<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"

namespace herd::actors {

bool tls_error_queue_cleared() {
  // Whether libcaf_openssl's SSL_read reaches the definition above (it does when this object
  // is linked into the executable, as enable_network's reference to this function makes sure).
  return reinterpret_cast<void*>(::dlsym(RTLD_DEFAULT, "SSL_read"))
         == reinterpret_cast<void*>(&SSL_read);
}

} // namespace herd::actors
