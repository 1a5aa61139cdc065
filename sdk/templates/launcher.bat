@echo off
rem bin\{{RELEASE_NAME}}.bat: the launcher of release {{RELEASE_NAME}}, written by Relcraft {{RELCRAFT_VERSION}}.
rem A shim like bin\{{RELEASE_NAME}}: finds the release, calls env.bat with the arguments, and hands
rem every command to Relcraft.Launcher on the release's runtime, the same C# as on Unix.
setlocal EnableExtensions

if not defined RELEASE_ROOT for %%i in ("%~dp0..") do set "RELEASE_ROOT=%%~fi"
if not defined RELEASE_NAME set "RELEASE_NAME={{RELEASE_NAME}}"
if not defined RELEASE_VSN for /f "usebackq tokens=1" %%v in ("%RELEASE_ROOT%\releases\start.data") do set "RELEASE_VSN=%%v"
set "RELEASE_COMMAND=%~1"
if not defined RELEASE_PROG set "RELEASE_PROG=%~nx0"
if not defined RELEASE_NODE set "RELEASE_NODE=%RELEASE_NAME%"
if not defined RELEASE_TMP set "RELEASE_TMP=%RELEASE_ROOT%\tmp"
if not defined RELEASE_MODE set "RELEASE_MODE={{RELEASE_MODE}}"
if not defined RELEASE_STOP_TIMEOUT set "RELEASE_STOP_TIMEOUT=30"
if not exist "%RELEASE_ROOT%\releases\%RELEASE_VSN%\" (
  echo %RELEASE_NAME%: version %RELEASE_VSN% is not installed ^(no %RELEASE_ROOT%\releases\%RELEASE_VSN%^) 1>&2
  exit /b 1
)
if exist "%RELEASE_ROOT%\releases\%RELEASE_VSN%\env.bat" call "%RELEASE_ROOT%\releases\%RELEASE_VSN%\env.bat" %*

if /i "%~1"=="version" (
  echo %RELEASE_NAME% %RELEASE_VSN%
  exit /b 0
)

set "RELCRAFT_RUNTIME_MODE={{RUNTIME_MODE}}"
set "RELCRAFT_ENTRY={{RELEASE_ENTRY}}"
set "RELCRAFT_APPHOST={{APPHOST}}"
set "RELCRAFT_TOOLS_DIR=%RELEASE_ROOT%\lib\relcraft-{{RELCRAFT_VERSION}}"

:run
if "%RELCRAFT_RUNTIME_MODE%"=="apphost" (
  set "DOTNET_ROOT=%RELEASE_ROOT%\runtime"
  "%RELCRAFT_TOOLS_DIR%\Relcraft.Launcher.exe" %*
  exit /b
)
if "%RELCRAFT_RUNTIME_MODE%"=="system" (
  dotnet exec "%RELCRAFT_TOOLS_DIR%\Relcraft.Launcher.dll" %*
  exit /b
)
set "DOTNET_ROOT=%RELEASE_ROOT%\runtime"
"%RELEASE_ROOT%\runtime\dotnet.exe" exec "%RELCRAFT_TOOLS_DIR%\Relcraft.Launcher.dll" %*
exit /b
