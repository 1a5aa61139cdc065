#!/bin/sh
# releases/{{RELEASE_VSN}}/env.sh: sourced by bin/{{RELEASE_NAME}} before EVERY command, with the
# command's arguments ("$@"; the command itself is $RELEASE_COMMAND).
# Set or export anything the app or the launcher should see, for example:
#
#   case $RELEASE_COMMAND in
#     start | daemon) export DOTNET_gcServer=1 ;;
#   esac
#   export RELEASE_NODE=${RELEASE_NODE:-{{RELEASE_NAME}}}
#   export RELEASE_TMP=/var/run/{{RELEASE_NAME}}
