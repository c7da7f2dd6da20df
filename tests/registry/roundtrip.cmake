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
run("load and run attention/hello" ${HOST} ${plugin} ${DUP_PLUGIN} ${BAD_PLUGIN})
message(STATUS "${last_output}")
