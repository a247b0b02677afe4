"""Middleware of our own.

`StaticFilesMiddleware` is WhiteNoise made async-capable. WhiteNoise's middleware is
sync-only, and one sync-only middleware makes Django run every request under ASGI
on a thread, with async views (the bot API's long-poll, the demo webchat's) blocking
that thread for as long as they wait. This subclass serves static files the same
way and lets every other request pass through on the event loop.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, **kwargs) -> None:
        super().__init__(get_response, **kwargs)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if request.path_info.startswith(self.static_prefix):
            if self.autorefresh:
                static_file = await sync_to_async(self.find_file)(request.path_info)
            else:
                static_file = self.files.get(request.path_info)
            if static_file is not None:
                return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)
