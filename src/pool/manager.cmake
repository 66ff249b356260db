# Included from src/pool/CMakeLists.txt: the refresh scheduling (pure, no Asio)
# and the token manager (Asio I/O that keeps the pool full).
add_library(tpp_refresh_schedule STATIC ${CMAKE_CURRENT_LIST_DIR}/refresh_schedule.cpp)
target_link_libraries(tpp_refresh_schedule PUBLIC tpp_common PRIVATE tpp_warnings)

add_library(tpp_token_manager STATIC ${CMAKE_CURRENT_LIST_DIR}/token_manager.cpp)
target_link_libraries(tpp_token_manager
  PUBLIC tpp_pool tpp_refresh_schedule tpp_dolphindb tpp_config tpp_asio
  PRIVATE tpp_common tpp_warnings spdlog::spdlog)
if(TPP_SANITIZE MATCHES "thread")
  target_compile_options(tpp_token_manager PRIVATE -Wno-tsan)
endif()

# node_failover: each upstream node's health fed by connects and logins, the
# manager told to drop and refill a node's slots, the active probes.
add_library(tpp_node_failover STATIC ${CMAKE_CURRENT_LIST_DIR}/node_failover.cpp)
target_link_libraries(tpp_node_failover
  PUBLIC tpp_token_manager tpp_pool tpp_asio
  PRIVATE tpp_common tpp_warnings spdlog::spdlog)
if(TPP_SANITIZE MATCHES "thread")
  target_compile_options(tpp_node_failover PRIVATE -Wno-tsan)
endif()
