#include <iostream>

#include "app/cli.hpp"
#include "app/probe.hpp"
#include "app/run.hpp"

int main(int argc, char** argv) {
  return tpp::app::cli_main(argc, argv, tpp::config::process_env(), std::cout, std::cerr,
                            tpp::app::run, tpp::app::probe);
}
