rem releases\{{RELEASE_VSN}}\env.bat: called by bin\{{RELEASE_NAME}}.bat before every command.
rem Set variables the app or the launcher should see, for example:
rem   if "%RELEASE_COMMAND%"=="start" set DOTNET_gcServer=1
rem   if not defined RELEASE_NODE set RELEASE_NODE={{RELEASE_NAME}}
