#error "Boost.Asio/Beast may only be included from server/io and server/http (docs/ARCHITECTURE.md, layering)"
