// The single translation unit that holds the compiled parts of Asio, Asio's
// OpenSSL support and Beast (BOOST_*_SEPARATE_COMPILATION is set for all users).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
