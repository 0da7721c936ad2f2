# Prepares the llama.cpp source tree that the addon is built from: a clone of the git bundle
# that the pinned node-llama-cpp package ships, with our patches/ applied. The clone is
# redone only when the bundle's commit or the patch set changes, so rebuilds stay incremental.

# LORA_GGUF_LLAMA_PREPARED_COMMIT: the source dir was prepared elsewhere from that commit (a copy without
# .git or the bundle, as scripts/device/pack.mjs ships to a GPU machine); its stamp must match patches/.
set(LORA_GGUF_LLAMA_PREPARED_COMMIT "" CACHE STRING "the llama.cpp commit a prepared source dir was made from (no bundle needed)")

if(LORA_GGUF_LLAMA_PREPARED_COMMIT)
    set(LORA_GGUF_LLAMA_COMMIT "${LORA_GGUF_LLAMA_PREPARED_COMMIT}")
else()
    find_package(Git REQUIRED)
    if(NOT EXISTS "${LORA_GGUF_LLAMA_BUNDLE}")
        message(FATAL_ERROR
            "llama.cpp source bundle not found at ${LORA_GGUF_LLAMA_BUNDLE}.\n"
            "It ships with the node-llama-cpp package: run `npm install` first.")
    endif()

    execute_process(
        COMMAND "${GIT_EXECUTABLE}" bundle list-heads "${LORA_GGUF_LLAMA_BUNDLE}"
        OUTPUT_VARIABLE _bundle_heads
        RESULT_VARIABLE _rc
        OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT _rc EQUAL 0 OR _bundle_heads STREQUAL "")
        message(FATAL_ERROR "cannot read the llama.cpp git bundle ${LORA_GGUF_LLAMA_BUNDLE}")
    endif()
    string(REGEX MATCH "^[0-9a-f]+" LORA_GGUF_LLAMA_COMMIT "${_bundle_heads}")
endif()

file(GLOB LORA_GGUF_PATCHES "${CMAKE_CURRENT_LIST_DIR}/../patches/*.patch")
list(SORT LORA_GGUF_PATCHES)
set(_patch_digest_input "${LORA_GGUF_LLAMA_COMMIT}")
set(LORA_GGUF_PATCH_NAMES "")
foreach(_patch IN LISTS LORA_GGUF_PATCHES)
    file(SHA256 "${_patch}" _hash)
    get_filename_component(_name "${_patch}" NAME)
    string(APPEND _patch_digest_input ";${_name}=${_hash}")
    list(APPEND LORA_GGUF_PATCH_NAMES "${_name}")
    # a changed patch must re-run this preparation step
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_patch}")
endforeach()
string(SHA256 _patch_digest "${_patch_digest_input}")

set(_stamp "${LORA_GGUF_LLAMA_SOURCE_DIR}/.lora-gguf-source-stamp")
set(_current_stamp "")
if(EXISTS "${_stamp}")
    file(READ "${_stamp}" _current_stamp)
endif()

if(LORA_GGUF_LLAMA_PREPARED_COMMIT AND NOT _current_stamp STREQUAL _patch_digest)
    message(FATAL_ERROR "the prepared llama.cpp source in ${LORA_GGUF_LLAMA_SOURCE_DIR} was not made from commit "
        "${LORA_GGUF_LLAMA_COMMIT} with these patches/ (its stamp differs); prepare it again")
endif()
if(NOT _current_stamp STREQUAL _patch_digest)
    message(STATUS "lora-gguf: preparing llama.cpp ${LORA_GGUF_LLAMA_COMMIT} in ${LORA_GGUF_LLAMA_SOURCE_DIR}")
    # An existing clone that has the commit is reset in place: git rewrites only the files that differ,
    # so a changed patch recompiles only what it touches. Anything else is cloned afresh.
    set(_reused FALSE)
    if(EXISTS "${LORA_GGUF_LLAMA_SOURCE_DIR}/.git")
        execute_process(
            COMMAND "${GIT_EXECUTABLE}" cat-file -e "${LORA_GGUF_LLAMA_COMMIT}^{commit}"
            WORKING_DIRECTORY "${LORA_GGUF_LLAMA_SOURCE_DIR}"
            RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
        if(_rc EQUAL 0)
            # (two calls: execute_process runs several COMMANDs as one pipeline)
            execute_process(
                COMMAND "${GIT_EXECUTABLE}" -c advice.detachedHead=false reset --quiet --hard "${LORA_GGUF_LLAMA_COMMIT}"
                WORKING_DIRECTORY "${LORA_GGUF_LLAMA_SOURCE_DIR}"
                RESULT_VARIABLE _rc_reset)
            execute_process(
                COMMAND "${GIT_EXECUTABLE}" clean --quiet -fdx
                WORKING_DIRECTORY "${LORA_GGUF_LLAMA_SOURCE_DIR}"
                RESULT_VARIABLE _rc_clean)
            if(_rc_reset EQUAL 0 AND _rc_clean EQUAL 0)
                set(_reused TRUE)
            endif()
        endif()
    endif()
    if(NOT _reused)
        file(REMOVE_RECURSE "${LORA_GGUF_LLAMA_SOURCE_DIR}")
        execute_process(
            COMMAND "${GIT_EXECUTABLE}" -c advice.detachedHead=false clone --quiet "${LORA_GGUF_LLAMA_BUNDLE}" "${LORA_GGUF_LLAMA_SOURCE_DIR}"
            RESULT_VARIABLE _rc)
        if(NOT _rc EQUAL 0)
            message(FATAL_ERROR "git clone of ${LORA_GGUF_LLAMA_BUNDLE} failed")
        endif()
        execute_process(
            COMMAND "${GIT_EXECUTABLE}" -c advice.detachedHead=false checkout --quiet "${LORA_GGUF_LLAMA_COMMIT}"
            WORKING_DIRECTORY "${LORA_GGUF_LLAMA_SOURCE_DIR}"
            RESULT_VARIABLE _rc)
        if(NOT _rc EQUAL 0)
            message(FATAL_ERROR "git checkout ${LORA_GGUF_LLAMA_COMMIT} failed")
        endif()
    endif()
    foreach(_patch IN LISTS LORA_GGUF_PATCHES)
        execute_process(
            COMMAND "${GIT_EXECUTABLE}" apply --whitespace=nowarn "${_patch}"
            WORKING_DIRECTORY "${LORA_GGUF_LLAMA_SOURCE_DIR}"
            RESULT_VARIABLE _rc
            ERROR_VARIABLE _err)
        if(NOT _rc EQUAL 0)
            message(FATAL_ERROR "patch ${_patch} does not apply to llama.cpp ${LORA_GGUF_LLAMA_COMMIT}:\n${_err}")
        endif()
        # one commit per patch, so that a patch can be edited in place and exported again
        # (scripts/dev/export-llama-patches.sh)
        get_filename_component(_name "${_patch}" NAME)
        execute_process(
            COMMAND "${GIT_EXECUTABLE}" add -A
            WORKING_DIRECTORY "${LORA_GGUF_LLAMA_SOURCE_DIR}" OUTPUT_QUIET)
        execute_process(
            COMMAND "${GIT_EXECUTABLE}" -c user.name=lora-gguf -c user.email=lora-gguf@localhost commit --quiet --no-verify -m "${_name}"
            WORKING_DIRECTORY "${LORA_GGUF_LLAMA_SOURCE_DIR}"
            RESULT_VARIABLE _rc)
        if(NOT _rc EQUAL 0)
            message(FATAL_ERROR "could not record ${_name} as a commit in ${LORA_GGUF_LLAMA_SOURCE_DIR}")
        endif()
        message(STATUS "lora-gguf: applied ${_patch}")
    endforeach()
    file(WRITE "${_stamp}" "${_patch_digest}")
    # the stamp is ours, not the tree's: kept out of the patch commits (scripts/dev/export-llama-patches.sh)
    file(APPEND "${LORA_GGUF_LLAMA_SOURCE_DIR}/.git/info/exclude" ".lora-gguf-source-stamp\n")
endif()
