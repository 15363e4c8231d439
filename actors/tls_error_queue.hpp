// OpenSSL's error queue cleared before each TLS I/O call of CAF's openssl module
// (actors/tls_error_queue.cpp says why).
#pragma once

namespace herd::actors {

/// True when the TLS calls of libcaf_openssl go through herd's definitions, which clear the
/// thread's OpenSSL error queue first.
bool tls_error_queue_cleared();

} // namespace herd::actors
