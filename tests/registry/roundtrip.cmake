# cmake -P roundtrip.cmake: install the attnlab build tree to a temporary prefix, build the
# out-of-tree example plugin against it, and load it into a host (see CMakeLists.txt here).
foreach(v SOURCE_DIR BUILD_DIR WORK_DIR CXX_COMPILER HOST DUP_PLUGIN BAD_PLUGIN)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "roundtrip.cmake: -D${v}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f bin/attnlab include/attnlab/framework/registry/registry.h include/attnlab/framework/model/families.h
          lib/cmake/attnlab/attnlab-config.cmake lib/cmake/attnlab/attnlab-config-version.cmake
          lib/cmake/attnlab/FindDNNL.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install: ${prefix}/${f} is missing")
  endif()
endforeach()
run("installed attnlab --version" ${prefix}/bin/attnlab --version)

# Only the prefix is given: the example must not see the source or build tree. Warnings are errors,
# so the installed headers are checked to compile cleanly in a foreign project.
run("configure example" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/plugins/hello_attention -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Wshadow -Werror")
run("build example" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
file(GLOB plugin ${WORK_DIR}/build/*hello_attention*.so)
if(NOT plugin)
  message(FATAL_ERROR "build example: no hello_attention library in ${WORK_DIR}/build")
endif()
get_filename_component(plugin_name ${plugin} NAME)
run("load and run attention/hello" ${HOST} ${plugin} ${DUP_PLUGIN} ${BAD_PLUGIN})
message(STATUS "${last_output}")

# The example README's flow through the installed executable: a spec in specs/ names the library by
# ../build/... (outside the spec's directory). Run from the directory holding build/, it is trusted
# (the working directory) and its plugin binds; run from specs/, it is refused at its line, and
# --allow-spec-plugins allows it (framework/experiment/plugin_trust.h).
file(WRITE ${WORK_DIR}/specs/spec.yaml "plugins: [../build/${plugin_name}]
name: hello
data:
  dataset: {type: marker, train: 64, valid: 32, test: 32, seq_len: 6, vocab: 12, classes: 3}
model:
  embedding: 4
  extractor: {type: lstm, hidden: 4}
  attention: {type: hello, scale: 2.0}
  pooling: {type: flatten}
  head: {type: classification}
")
execute_process(COMMAND ${prefix}/bin/attnlab validate --spec-only specs/spec.yaml WORKING_DIRECTORY ${WORK_DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "trusted: inside the working directory")
  message(FATAL_ERROR "validate from the directory holding build/ (${rc}):\n${out}\n${err}")
endif()
message(STATUS "spec naming the example from the working directory's tree: ok")
execute_process(COMMAND ${prefix}/bin/attnlab validate --spec-only spec.yaml WORKING_DIRECTORY ${WORK_DIR}/specs
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "spec.yaml:1:11: plugins\\[0\\]: refusing to load plugin library")
  message(FATAL_ERROR "validate from specs/ must refuse the library (${rc}):\n${out}\n${err}")
endif()
message(STATUS "spec naming the example from outside its tree: refused")
execute_process(COMMAND ${prefix}/bin/attnlab validate --spec-only spec.yaml --allow-spec-plugins
                WORKING_DIRECTORY ${WORK_DIR}/specs RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "trusted: allowed by --allow-spec-plugins")
  message(FATAL_ERROR "validate --allow-spec-plugins (${rc}):\n${out}\n${err}")
endif()
message(STATUS "--allow-spec-plugins: ok")
