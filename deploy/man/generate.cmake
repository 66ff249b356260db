# Writes tpp.1 from tpp.1.in:
#   cmake -DIN=tpp.1.in -DOUT=tpp.1 -DCONFIG_DOC=docs/configuration.md -DVERSION=x.y.z -P generate.cmake
#
# The ENVIRONMENT list comes from the key table of docs/configuration.md, one
# entry per row "| `key` | `TPP_VAR` | default | meaning | old/new |", so
# the man page never falls behind the keys (docs_test keeps that table equal
# to src/config/keys.cpp).
file(STRINGS "${CONFIG_DOC}" rows REGEX "^\\| `[a-z_.]+` \\| `TPP_[A-Z_]+` \\|")
set(entries "")
foreach(row IN LISTS rows)
  string(REGEX MATCH "^\\| `([a-z_.]+)` \\| `(TPP_[A-Z_]+)` \\| ([^|]*) \\| ([^|]*) \\|" _ "${row}")
  set(key "${CMAKE_MATCH_1}")
  set(var "${CMAKE_MATCH_2}")
  string(STRIP "${CMAKE_MATCH_3}" default)
  string(STRIP "${CMAKE_MATCH_4}" meaning)
  set(text "${meaning} Key ${key}, default ${default}.")
  # Markdown code spans become bold; roff needs its backslashes escaped and
  # "-" as "\-". (Every meaning starts with a letter or a code span, so no
  # line starts with a roff control character.)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "`([^`]*)`" "\\\\fB\\1\\\\fR" text "${text}")
  string(APPEND entries ".TP\n.B ${var}\n${text}\n")
endforeach()
string(REGEX REPLACE "\n$" "" TPP_MAN_ENVIRONMENT "${entries}")
set(TPP_VERSION "${VERSION}")
configure_file("${IN}" "${OUT}" @ONLY)
